"""The CloudWatch alarms the deployment stops on exist, and none is in ALARM now."""

from __future__ import annotations

from .core import Checks, Finding, failed, ok


class AlarmChecks(Checks):
    def alarms(self) -> list[Finding]:
        """The alarms the deployment group stops on exist (a missing one watches nothing) and none is in ALARM
        now (CodeDeploy would stop the deployment at its first poll, and roll it back)."""
        group = self.facts.group
        configuration = (group or {}).get("alarmConfiguration") or {}
        names = [a["name"] for a in configuration.get("alarms") or []] if group else list(self.names["alarms"])
        subject = self.names["deployment_group"]
        if group and not (configuration.get("enabled") and names):
            return [ok("alarms", subject, "none: the deployment group stops on no alarm (codedeploy_alarms_enabled)")]
        found = {}
        for first in range(0, len(names), 100):
            for alarm in (
                self.client("cloudwatch").describe_alarms(AlarmNames=names[first : first + 100]).get("MetricAlarms", [])
            ):
                found[alarm["AlarmName"]] = alarm
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        findings = [
            failed("alarms", name, "does not exist: it cannot stop a version that fails under traffic", provision)
            for name in names
            if name not in found
        ]
        for name, alarm in sorted(found.items()):
            if alarm.get("StateValue") == "ALARM":
                findings.append(
                    failed(
                        "alarms",
                        name,
                        f"in ALARM now ({alarm.get('StateReason', '')}): the deployment would be stopped at once",
                        "find out why (the service's log; aws cloudwatch describe-alarm-history --alarm-name "
                        f"{name}), then deploy once it is OK",
                    )
                )
        if not findings:
            states = sorted({a.get("StateValue", "?") for a in found.values()})
            findings.append(ok("alarms", subject, f"{len(found)} alarm(s), none in ALARM ({', '.join(states)})"))
        return findings

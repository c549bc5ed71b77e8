"""The log groups the tasks and the hooks write to exist."""

from __future__ import annotations

from .core import Checks, Finding, failed, ok


class LogGroupChecks(Checks):
    def log_groups(self) -> list[Finding]:
        logs = self.client("logs")
        findings = []
        for group in [self.names["log_group"], *self.names["hook_log_groups"]]:
            found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
            if any(g["logGroupName"] == group for g in found):
                findings.append(ok("logs", group, "exists"))
            else:
                findings.append(
                    failed(
                        "logs",
                        group,
                        "the log group does not exist: the awslogs driver cannot start the tasks "
                        "(ResourceInitializationError)"
                        if group == self.names["log_group"]
                        else "the log group does not exist: the hook's logs are lost",
                        f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                    )
                )
        return findings

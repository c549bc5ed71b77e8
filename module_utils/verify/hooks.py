"""The lifecycle hook functions exist and are Active."""

from __future__ import annotations

from .core import Checks, Finding, error_code, failed, ok


class HookChecks(Checks):
    def hooks(self) -> list[Finding]:
        findings = []
        lambda_ = self.client("lambda")
        for event, function in self.names["hook_functions"].items():
            try:
                config = lambda_.get_function_configuration(FunctionName=function)
            except Exception as e:
                if error_code(e) != "ResourceNotFoundException":
                    raise
                findings.append(
                    failed(
                        "hooks",
                        function,
                        f"the {event} hook function does not exist: CodeDeploy fails the lifecycle event",
                        f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                    )
                )
                continue
            self.facts.functions[event] = config
            state, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
            if state != "Active" or update not in ("Successful", None):
                findings.append(
                    failed(
                        "hooks",
                        function,
                        f"the {event} hook is {state} (last update {update}: {config.get('StateReason', '')})",
                        "wait for it to become Active, or reprovision (playbooks/provision.yml)",
                    )
                )
            else:
                findings.append(ok("hooks", function, f"{event} hook Active"))
        return findings

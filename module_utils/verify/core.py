"""What every check shares: a finding and its status, the facts several checks read once, the base class of the
checks (one class per file of this package: runner.Verify composes them), and the summary the module returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass

OK, FAILED, NOT_CHECKED = "ok", "failed", "not checked"


@dataclass
class Finding:
    check: str  # image, secrets, network, reachability, tls, iam, codedeploy, ecs, hooks, logs, inputs, quotas
    subject: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():11} {self.check}: {self.subject}: {self.message}"
        return f"{text} FIX: {self.fix}" if self.fix else text


def ok(check, subject, message):
    return Finding(check, subject, OK, message)


def failed(check, subject, message, fix):
    return Finding(check, subject, FAILED, message, fix)


def not_checked(check, subject, message):
    return Finding(check, subject, NOT_CHECKED, message)


def error_code(error) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def refused(error) -> bool:
    """AWS refused the request: the caller may not make it."""
    return error_code(error) in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class Facts:
    """What several checks read (the deployment group, the service, the hook functions, the load balancer),
    read once."""

    def __init__(self):
        self.group: dict | None = None
        self.service: dict | None = None
        self.functions: dict[str, dict] = {}
        self.load_balancer: dict | None = None
        self.listeners: dict[str, dict] = {}  # "production" / "test" -> listener
        self.account = ""
        self.partition = "aws"
        self.caller_arn = ""
        self.task_definition: dict | None = None  # the original (serving) task set's


class Checks:
    """What every kind of check reads from: `clients(name)` gives a boto3 client; `params` the module's options."""

    def __init__(self, clients, params: dict):
        self.client = clients
        self.p = params
        self.names = params["names"]
        self.region = params["region"]
        # Who deploys (bluegreen_controller): CodeDeploy, or ECS itself.
        self.controller = params.get("controller") or "codedeploy"
        self.facts = Facts()
        self.secret_arns: dict[str, str] = {}  # reference -> the secret's full ARN
        self.nat_ips: dict[str, str | None] = {}  # subnet -> the public IP of the NAT gateway it routes through


def summary(findings: list[Finding]) -> dict:
    counts = {status: sum(f.status == status for f in findings) for status in (OK, FAILED, NOT_CHECKED)}
    return {"counts": counts, "findings": [asdict(f) for f in findings], "lines": [f.line() for f in findings]}

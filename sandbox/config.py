"""The sandbox's settings: one JSON file in the state folder, written by `sandbox up`, read by every process.

Defaults can be changed with environment variables at `up` (SANDBOX_HOME, SANDBOX_AWS_PORT,
SANDBOX_CODEDEPLOY_PORT, SANDBOX_TIME_SCALE, SANDBOX_HEALTH_CHECK_SCALE, SANDBOX_IAM_PROPAGATION_SECONDS,
SANDBOX_LAMBDA_ENI_LINGER_SECONDS, SANDBOX_LAMBDA_NETWORK, SANDBOX_IAM_ENFORCEMENT,
SANDBOX_BALANCER_NETWORK,
SANDBOX_TASK_NETWORK), so two sandboxes can run side by side (the end-to-end tests use their own).
The image mapping is re-read each time a task starts, so a test can add an image while the sandbox runs.

What the account holds when `up` starts it, besides its network, is the project's to say, not the emulator's: the
`[tool.sandbox]` table of the repository's pyproject.toml names the images the ECS agent can run (`images`), the
Secrets Manager secrets that exist already (`secrets`, each value made at `up`) and the IAM users with no policy
whose access key id is their name (`users`).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"


@dataclass
class Config:
    home: str
    host: str = "127.0.0.1"
    aws_port: int = 4566
    codedeploy_port: int = 4567
    region: str = "eu-west-1"
    # Minutes in deployment configs, ready and termination waits and the hook timeout are multiplied by
    # this: 0.05 turns a 1-minute linear step into 3 seconds.
    time_scale: float = 0.05
    # Target group health check intervals (seconds) are multiplied by this (at least 0.5 s).
    health_check_scale: float = 0.2
    # Seconds after its creation before Lambda can assume a role (IAM's eventual consistency).
    iam_propagation_seconds: float = 10.0
    # Seconds a deleted VPC function's network interfaces linger (and hold their security groups).
    lambda_eni_linger_seconds: float = 15.0
    # Each load balancer gets its own address (its DNSName) and each task its own (awsvpc), on loopback.
    balancer_network: str = "127.1.0.0/16"
    task_network: str = "127.2.0.0/16"
    # Each Lambda function's connections come from its own loopback address (its network interface's, in a VPC).
    lambda_network: str = "127.3.0.0/16"
    # Where connections from this machine (operators, tests, the demo's load) come from, as the internet sees
    # them (TEST-NET-2, a documentation address); and a function outside any VPC (TEST-NET-3).
    internet_address: str = "198.51.100.7"
    lambda_public_address: str = "203.0.113.10"
    # How the sandbox runs an image: the container's command (unless the task definition or an override gives
    # one), the folder it runs in, and the environment the sandbox adds to the task definition's. "{python}" is
    # the sandbox's interpreter, "{repo}" the repository, "{ip}" / "{port}" the task's address (awsvpc: each task
    # has its own IP, here a loopback address) and the container port. A command starting with "python" runs
    # with the sandbox's interpreter. Keys: "repository:tag" first, then "repository", then its last path part.
    images: dict = field(default_factory=dict)
    # The Secrets Manager secrets the account has before anything runs (names; each value is made at `up`).
    secrets: list[str] = field(default_factory=list)
    # IAM users the account has before anything runs, without any policy: the access key id is the user's name, the
    # secret `<name>-secret` (sandbox/iam/authority.py).
    users: list[str] = field(default_factory=list)
    # The account's Fargate On-Demand vCPU quota (Service Quotas L-3032A538), as GetServiceQuota answers it. AWS
    # sets it per account and documents no default here: **assumed** (fidelity ledger).
    fargate_vcpu_quota: float = 6.0
    # IAM is enforced on every call (sandbox/iam/authority.py); False only to debug a policy (decisions are still
    # recorded, nothing is refused): SANDBOX_IAM_ENFORCEMENT=off at `up`.
    iam_enforcement: bool = True
    # What the sandbox's own processes present to the AWS process's internal endpoints (/_sandbox/iam/...).
    internal_token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def state(self) -> Path:
        return Path(self.home)

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def codedeploy_endpoint(self) -> str:
        return f"http://{self.host}:{self.codedeploy_port}"

    def endpoint_environment(self) -> dict[str, str]:
        """Where the sandbox's AWS is, for any SDK: the endpoints and the region (no credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_ENDPOINT_URL_CODEDEPLOY": self.codedeploy_endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client_environment(self) -> dict[str, str]:
        """What an operator's client (a playbook, the AWS CLI, a test) needs to talk to the sandbox instead of AWS:
        the endpoints, and the access key of the sandbox's operator user (sandbox/iam/authority.py)."""
        return {**self.endpoint_environment(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def save(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        path = self.state / "config.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    def image(self, reference: str) -> dict | None:
        name, _, tag = reference.rpartition(":")
        if not name or "/" in tag:  # no tag (the colon was a registry's port)
            name, tag = reference, ""
        short = name.rsplit("/", 1)[-1]
        for key in (f"{name}:{tag}", f"{short}:{tag}", name, short):
            if key in self.images:
                return self.images[key]
        return None


def default_home() -> Path:
    return Path(os.environ.get("SANDBOX_HOME") or REPO / ".sandbox").resolve()


def project_settings(path: Path = REPO / "pyproject.toml") -> dict:
    """The `[tool.sandbox]` table of the repository's pyproject.toml (empty without one): images, secrets, users."""
    try:
        with path.open("rb") as f:
            return dict(tomllib.load(f).get("tool", {}).get("sandbox", {}))
    except FileNotFoundError:
        return {}


def from_environment() -> Config:
    project = project_settings()
    return Config(
        home=str(default_home()),
        aws_port=int(os.environ.get("SANDBOX_AWS_PORT", "4566")),
        codedeploy_port=int(os.environ.get("SANDBOX_CODEDEPLOY_PORT", "4567")),
        time_scale=float(os.environ.get("SANDBOX_TIME_SCALE", "0.05")),
        health_check_scale=float(os.environ.get("SANDBOX_HEALTH_CHECK_SCALE", "0.2")),
        iam_propagation_seconds=float(os.environ.get("SANDBOX_IAM_PROPAGATION_SECONDS", "10")),
        lambda_eni_linger_seconds=float(os.environ.get("SANDBOX_LAMBDA_ENI_LINGER_SECONDS", "15")),
        balancer_network=os.environ.get("SANDBOX_BALANCER_NETWORK", "127.1.0.0/16"),
        task_network=os.environ.get("SANDBOX_TASK_NETWORK", "127.2.0.0/16"),
        lambda_network=os.environ.get("SANDBOX_LAMBDA_NETWORK", "127.3.0.0/16"),
        fargate_vcpu_quota=float(os.environ.get("SANDBOX_FARGATE_VCPU_QUOTA", "6")),
        iam_enforcement=os.environ.get("SANDBOX_IAM_ENFORCEMENT", "on").lower() not in ("off", "0", "false", "no"),
        images=dict(project.get("images") or {}),
        secrets=list(project.get("secrets") or []),
        users=list(project.get("users") or []),
    )


def load(home: Path | str | None = None) -> Config:
    path = Path(home or default_home()) / "config.json"
    if not path.exists():
        sys.exit(f"no sandbox at {path.parent}: start it with `python -m sandbox up`")
    return Config(**json.loads(path.read_text()))

"""The ARNs the project's statements name, in one account and region, from the model's names."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def ecr_repository_arn(image_repository: str, partition: str = "aws") -> str | None:
    """The ECR repository ARN of an image repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`)."""
    match = _ECR_IMAGE.match(image_repository or "")
    if not match:
        return None
    account, region, name = match.groups()
    return f"arn:{partition}:ecr:{region}:{account}:repository/{name}"


@dataclass(frozen=True)
class Arns:
    """ARNs in one partition, account and region."""

    partition: str
    account: str
    region: str

    def regional(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def each(self, service: str, *resources: str) -> list[str]:
        return [self.regional(service, resource) for resource in resources]

    def role(self, path: str, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{path}{name}"

    def user(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:user/{name}"

    def policy(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{name}"

    # One service's resources (names: the model's names() of the service).

    def cluster(self, names: dict) -> str:
        return self.regional("ecs", f"cluster/{names['cluster']}")

    def service(self, names: dict) -> str:
        return self.regional("ecs", f"service/{names['cluster']}/{names['ecs_service']}")

    def tasks(self, names: dict) -> str:
        """Every task of the service's cluster (a task's ARN names its cluster, not its service)."""
        return self.regional("ecs", f"task/{names['cluster']}/*")

    def task_roles(self, names: dict, path: str) -> list[str]:
        return [self.role(path, names["roles"][suffix]) for suffix in ("task-execution", "task")]

    def hook_functions(self, names: dict) -> list[str]:
        return [self.regional("lambda", f"function:{function}") for function in names["hook_functions"].values()]

    def alarms(self, names: dict) -> list[str]:
        return [self.regional("cloudwatch", f"alarm:{alarm}") for alarm in names["alarms"]]

    def listener_rules(self, names: dict) -> str:
        return self.regional("elasticloadbalancing", f"listener-rule/app/{names['load_balancer']}/*")

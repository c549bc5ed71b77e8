"""The tasks and the hook functions reach the AWS APIs from their subnets: through a NAT gateway, or the VPC
endpoints of the services they call. Written from the VPC user guide, not shared with the sandbox's model of it
(sandbox/ec2/network.py): the sandbox is the AWS this code is tested against, and a shared mistake would pass both."""

from __future__ import annotations

import functools

try:
    from botocore.loaders import create_loader
except ImportError:  # pragma: no cover - AnsibleAWSModule reports a missing botocore
    create_loader = None

from .core import Finding, failed, not_checked, ok
from .image import ECR_IMAGE, ImageChecks
from .secrets import secret_service

# What the tasks and the hook functions reach from their subnets, by the VPC endpoint service that serves it
# without a NAT gateway (endpoint_service_names). S3 serves ECR's image layers (a gateway endpoint).
TASK_ENDPOINTS = {"ecr.api": "ECR (image manifest)", "ecr.dkr": "ECR (docker registry)", "s3": "S3 (image layers)"}
LOGS_ENDPOINT = {"logs": "CloudWatch Logs"}
# The ECS agent reads each secret from the service that holds it (secret_service).
SECRET_ENDPOINTS = {
    "secretsmanager": "Secrets Manager (the task's secrets)",
    "ssm": "SSM Parameter Store (the task's parameters)",
}
HOOK_ENDPOINTS = {
    "codedeploy": "CodeDeploy (to report the hook's result)",
    "ecs": "ECS",
    "elasticloadbalancing": "Elastic Load Balancing",
    "monitoring": "CloudWatch (alarms)",
}


@functools.cache
def _endpoint_prefixes(partition: str) -> tuple[str, ...]:
    # AWS names its endpoint services after the partition's DNS suffix, reversed (cn.com.amazonaws in China), but in
    # China only some services took that name (ECR, S3, CloudWatch); others, CloudWatch Logs, ECS, Secrets Manager
    # and SSM among them, kept com.amazonaws (DescribeVpcEndpointServices there, as aws-cdk records it). Either
    # name is the service's own, so an endpoint by either serves.
    partitions = create_loader().load_data("partitions")["partitions"]
    suffix = next((p["outputs"]["dnsSuffix"] for p in partitions if p["id"] == partition), "amazonaws.com")
    return tuple(dict.fromkeys([".".join(reversed(suffix.split("."))), "com.amazonaws"]))


def endpoint_service_names(partition: str, region: str, service: str) -> set[str]:
    """The names a VPC endpoint of an AWS service has in this partition and region."""
    return {f"{prefix}.{region}.{service}" for prefix in _endpoint_prefixes(partition)}


class NetworkChecks(ImageChecks):
    def _route_tables(self, vpc_id: str) -> tuple[dict, dict | None]:
        tables = [
            t
            for page in self.client("ec2")
            .get_paginator("describe_route_tables")
            .paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
            for t in page["RouteTables"]
        ]
        by_subnet, main = {}, None
        for table in tables:
            for association in table.get("Associations", []):
                if association.get("Main"):
                    main = table
                elif association.get("SubnetId"):
                    by_subnet[association["SubnetId"]] = table
        return by_subnet, main

    def _subnets(self) -> dict[str, list[str]]:
        """Who runs where: the tasks (and the migration task) in the service's subnets, the hooks in theirs."""
        used: dict[str, list[str]] = {}
        service = self.facts.service or {}
        task_sets = [t for t in service.get("taskSets", []) if t.get("status") == "PRIMARY"]
        vpc = ((task_sets[0] if task_sets else service).get("networkConfiguration") or {}).get(
            "awsvpcConfiguration"
        ) or {}
        for subnet in vpc.get("subnets", []):
            used.setdefault(subnet, []).append("tasks")
        for config in self.facts.functions.values():
            for subnet in (config.get("VpcConfig") or {}).get("SubnetIds", []):
                if "hooks" not in used.get(subnet, []):
                    used.setdefault(subnet, []).append("hooks")
        return used

    def network(self) -> list[Finding]:
        used = self._subnets()
        if not used:
            return [not_checked("network", "-", "neither the service's nor the hooks' subnets could be read")]
        ec2 = self.client("ec2")
        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=sorted(used))["Subnets"]}
        vpc_id = next(iter(subnets.values()))["VpcId"]
        by_subnet, main = self._route_tables(vpc_id)
        nats = {
            n["NatGatewayId"]: n
            for page in ec2.get_paginator("describe_nat_gateways").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for n in page["NatGateways"]
        }
        endpoints = [
            e
            for page in ec2.get_paginator("describe_vpc_endpoints").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for e in page["VpcEndpoints"]
            if e.get("State", "").lower() == "available"
        ]
        findings = []
        for subnet_id, users in sorted(used.items()):
            table = by_subnet.get(subnet_id) or main or {}
            nat = self._nat_route(table, nats)
            self.nat_ips[subnet_id] = nat[1] if nat else None
            who = " and ".join(users)
            if nat:
                findings.append(ok("network", subnet_id, f"the {who} reach AWS through NAT gateway {nat[0]}"))
                continue
            needed = {}
            if "tasks" in users:
                needed.update(LOGS_ENDPOINT)
                if ECR_IMAGE.match(self.image_name().rpartition(":")[0]):
                    needed.update(TASK_ENDPOINTS)
                held_by = {secret_service(reference) for reference in self.p.get("secrets") or []}
                needed.update({k: v for k, v in SECRET_ENDPOINTS.items() if k in held_by})
            if "hooks" in users:
                # Under the ECS controller the hooks answer ECS in their return value: no CodeDeploy call.
                needed.update(
                    {k: v for k, v in HOOK_ENDPOINTS.items() if self.controller == "codedeploy" or k != "codedeploy"}
                )
            missing = [
                f"{service} ({why})"
                for service, why in needed.items()
                if not self._endpoint_serves(endpoints, service, subnets[subnet_id], table)
            ]
            image = self.image_name()
            non_ecr = "tasks" in users and image and not ECR_IMAGE.match(image.rpartition(":")[0])
            if non_ecr:
                missing.append("the image's registry (not ECR: only a NAT gateway reaches it)")
            if missing:
                findings.append(
                    failed(
                        "network",
                        subnet_id,
                        f"the {who} in this subnet have no route to the internet (no 0.0.0.0/0 to an available NAT "
                        f"gateway in route table {table.get('RouteTableId', '?')}) and no VPC endpoint for: "
                        + "; ".join(missing)
                        + (": images do not pull, secrets and logs fail" if "tasks" in users else "")
                        + (": a hook cannot report, and CodeDeploy waits for its timeout" if "hooks" in users else ""),
                        "add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or the VPC endpoints",
                    )
                )
            else:
                findings.append(ok("network", subnet_id, f"the {who} reach AWS through VPC endpoints"))
        return findings

    @staticmethod
    def _nat_route(table: dict, nats: dict) -> tuple[str, str | None] | None:
        for route in table.get("Routes", []):
            nat = nats.get(route.get("NatGatewayId", ""))
            if route.get("DestinationCidrBlock") == "0.0.0.0/0" and nat and nat.get("State") == "available":
                if route.get("State", "active") != "active":
                    continue
                address = next(
                    (a.get("PublicIp") for a in nat.get("NatGatewayAddresses", []) if a.get("PublicIp")), None
                )
                return nat["NatGatewayId"], address
        return None

    def _endpoint_serves(self, endpoints: list, service: str, subnet: dict, table: dict) -> bool:
        names = endpoint_service_names(self.facts.partition, self.region, service)
        for endpoint in endpoints:
            if endpoint.get("ServiceName") not in names:
                continue
            if endpoint.get("VpcEndpointType") == "Gateway":
                if table.get("RouteTableId") in endpoint.get("RouteTableIds", []):
                    return True
            elif endpoint.get("PrivateDnsEnabled"):
                # An interface endpoint answers in the availability zones of its subnets; private DNS makes the
                # service's usual name resolve to it.
                zones = (
                    {
                        s["AvailabilityZone"]
                        for s in self.client("ec2").describe_subnets(SubnetIds=endpoint.get("SubnetIds", []))["Subnets"]
                    }
                    if endpoint.get("SubnetIds")
                    else set()
                )
                if subnet["AvailabilityZone"] in zones:
                    return True
        return False

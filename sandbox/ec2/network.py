"""Who may open a connection to a load balancer's listener: its security group, with AWS's addressing.

What the load balancer sees as a client's source address depends on where the client is and on the scheme:

- A client outside the VPC (an operator, a test, the load generator: the sandbox's host) arrives from its
  public address (`Config.internet_address`). It reaches only an internet-facing load balancer.
- A client in the VPC (a hook Lambda's network interface) reaching an *internal* load balancer arrives from its
  private address, and a security-group reference admits it when its interface is in that group.
- A client in the VPC reaching an *internet-facing* load balancer resolves its DNS name to public addresses: the
  request leaves through the NAT gateway its subnet routes 0.0.0.0/0 to and arrives from the NAT's public IP
  (its Elastic IP). Security-group references match only private addresses, so they admit nothing here; only a
  rule for the NAT's public address does. Without a NAT route it does not arrive at all.

The security group's ingress rules (protocol tcp or all, the listener's port in range) are checked against that
address; a connection no rule admits is dropped silently, as a security group drops packets (the client times
out; it is never refused).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    from_port: int | None
    to_port: int | None
    protocol: str  # "tcp", "6", "-1" (all)
    cidr: str | None = None
    group_id: str | None = None

    def covers(self, port: int) -> bool:
        if self.protocol not in ("tcp", "6", "-1"):
            return False
        if self.protocol == "-1" or self.from_port is None or self.from_port == -1:
            return True
        return self.from_port <= port <= (self.to_port if self.to_port is not None else self.from_port)


@dataclass(frozen=True)
class Client:
    """A connection's origin: `wire` is the loopback address it connects from on this machine."""

    wire: str
    private_ip: str | None = None  # in the VPC: its network interface's private address
    group_ids: frozenset = field(default_factory=frozenset)
    nat_public_ip: str | None = None  # the public IP of the NAT gateway its subnet routes through
    public_ip: str | None = None  # outside the VPC: its public address


def source_address(client: Client, scheme: str) -> tuple[str | None, frozenset]:
    """(the address the load balancer sees, the groups a security-group reference can match)."""
    if client.private_ip is None:
        return (client.public_ip if scheme == "internet-facing" else None), frozenset()
    if scheme == "internal":
        return client.private_ip, client.group_ids
    return client.nat_public_ip, frozenset()


def admitted(client: Client, scheme: str, port: int, rules: list[Rule]) -> bool:
    address, groups = source_address(client, scheme)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    for rule in rules:
        if not rule.covers(port):
            continue
        if rule.cidr and ip in ipaddress.ip_network(rule.cidr, strict=False):
            return True
        if rule.group_id and rule.group_id in groups:
            return True
    return False


# --- a subnet's path to the AWS APIs -----------------------------------------------------------------------------
# From a private subnet, an AWS API's public endpoint is reached through a NAT gateway (a 0.0.0.0/0 route to one
# that is available), or, without one, through a VPC endpoint of that service (VPC user guide, "AWS PrivateLink"):
# an interface endpoint with private DNS in the subnet's availability zone, or a gateway endpoint (S3, DynamoDB)
# on the subnet's route table. Anything else is dropped: the connection times out.

# The SDK's service id (as in AWS_ENDPOINT_URL_<ID>) -> the VPC endpoint service that serves it.
ENDPOINT_SERVICES = {
    "CODEDEPLOY": "codedeploy",
    "ECS": "ecs",
    "ELASTIC_LOAD_BALANCING_V2": "elasticloadbalancing",
    "CLOUDWATCH": "monitoring",
    "CLOUDWATCH_LOGS": "logs",
    "SECRETS_MANAGER": "secretsmanager",
    "SSM": "ssm",
    "STS": "sts",
    "LAMBDA": "lambda",
}
# Where the sandbox sends a connection that has no path: nothing answers there
# (sandbox/awslambda/runtime/sitecustomize.py makes a connection to it time out, as a dropped packet does).
UNREACHABLE = "127.0.0.9"


@dataclass(frozen=True)
class AwsPath:
    nat: bool  # a 0.0.0.0/0 route to an available NAT gateway: every public endpoint
    endpoints: frozenset = field(default_factory=frozenset)  # VPC endpoint services (e.g. "ecr.dkr")

    def reaches(self, service: str) -> bool:
        return self.nat or service in self.endpoints


def aws_path(ec2, subnet_id: str, region: str) -> AwsPath:
    """What a network interface in the subnet reaches of AWS (ec2: moto's EC2 backend of the region)."""
    subnet = ec2.get_subnet(subnet_id)
    tables = [t for t in list(ec2.route_tables.values()) if t.vpc_id == subnet.vpc_id]
    table = next((t for t in tables if subnet_id in t._associations.values()), None) or next(
        (t for t in tables if t.main_association_id), None
    )
    nat = any(
        route.destination_cidr_block == "0.0.0.0/0"
        and route.nat_gateway is not None
        and route.nat_gateway.state == "available"
        for route in (table.routes if table is not None else [])
    )
    prefix = f"com.amazonaws.{region}."
    endpoints = set()
    for endpoint in list(ec2.vpc_end_points.values()):
        if endpoint.vpc_id != subnet.vpc_id or endpoint.state != "available":
            continue
        if not endpoint.service_name.startswith(prefix):
            continue
        name = endpoint.service_name[len(prefix) :]
        if (endpoint.vpc_endpoint_type or "").lower() == "gateway":
            if table is not None and table.id in (endpoint.route_table_ids or []):
                endpoints.add(name)
        elif endpoint.private_dns_enabled and subnet.availability_zone in {
            ec2.get_subnet(s).availability_zone for s in endpoint.subnet_ids or []
        }:
            endpoints.add(name)
    return AwsPath(nat=nat, endpoints=frozenset(endpoints))


def unreachable_environment(path: AwsPath, port: int) -> dict[str, str]:
    """The SDK environment that sends each service the subnet cannot reach to the unreachable address (a
    service-specific AWS_ENDPOINT_URL_<ID> wins over AWS_ENDPOINT_URL)."""
    if path.nat:
        return {}
    blackhole = f"http://{UNREACHABLE}:{port}"
    return {f"AWS_ENDPOINT_URL_{sid}": blackhole for sid, name in ENDPOINT_SERVICES.items() if not path.reaches(name)}


def nat_public_ip(ec2, subnet_id: str) -> str | None:
    """The public IP of the NAT gateway a subnet routes 0.0.0.0/0 to (its own route table, else the
    main); ec2: moto's EC2 backend of the region."""
    subnet = ec2.get_subnet(subnet_id)
    tables = [t for t in list(ec2.route_tables.values()) if t.vpc_id == subnet.vpc_id]
    table = next((t for t in tables if subnet_id in t._associations.values()), None) or next(
        (t for t in tables if t.main_association_id), None
    )
    for route in table.routes if table else []:
        nat = route.nat_gateway
        if route.destination_cidr_block == "0.0.0.0/0" and nat is not None and nat.state in ("available", "pending"):
            return next((a.get("publicIp") for a in nat.address_set if a.get("publicIp")), None)
    return None

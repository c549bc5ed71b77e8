"""The hooks' requests reach the test and production listeners, following the load balancer's scheme and the
security groups. Written from the VPC and ELB user guides, not shared with the sandbox's model of who reaches a
listener (sandbox/ec2/network.py): the sandbox is the AWS this code is tested against, and a shared mistake would pass
both."""

from __future__ import annotations

import ipaddress

from .core import Finding, failed, not_checked, ok
from .load_balancer import LoadBalancerChecks


class ReachabilityChecks(LoadBalancerChecks):
    def reachability(self) -> list[Finding]:
        """The hooks' requests reach the test listener (test-traffic checks) and the production listener (the
        production probe): from their subnets and security group, following the load balancer's scheme."""
        balancer, listeners = self.facts.load_balancer, self._listeners()
        functions = {
            "test": self.facts.functions.get("AfterAllowTestTraffic"),
            "production": self.facts.functions.get("AfterAllowTraffic"),
        }
        if balancer is None or not listeners:
            return [not_checked("reachability", self.names["load_balancer"], "the listeners could not be read")]
        ec2 = self.client("ec2")
        groups = {
            g["GroupId"]: g
            for g in ec2.describe_security_groups(
                GroupIds=sorted(
                    set(balancer.get("SecurityGroups", []))
                    | {
                        gid
                        for config in functions.values()
                        if config
                        for gid in (config.get("VpcConfig") or {}).get("SecurityGroupIds", [])
                    }
                )
            )["SecurityGroups"]
        }
        findings = []
        scheme = balancer.get("Scheme", "internet-facing")
        for kind, listener in sorted(listeners.items()):
            config = functions.get(kind)
            subject = f"{kind} listener :{listener['Port']}"
            if not config:
                findings.append(
                    not_checked(
                        "reachability", subject, f"the hook that requests the {kind} listener could not be read"
                    )
                )
                continue
            vpc = config.get("VpcConfig") or {}
            if not vpc.get("SubnetIds"):
                findings.append(not_checked("reachability", subject, f"{config['FunctionName']} runs outside a VPC"))
                continue
            findings.append(self._reaches(subject, listener, scheme, balancer, vpc, groups))
        return findings

    def _reaches(self, subject, listener, scheme, balancer, vpc, groups) -> Finding:  # noqa: PLR0917
        port = int(listener["Port"])
        hook_groups = set(vpc.get("SecurityGroupIds", []))
        egress = [r for g in hook_groups for r in groups.get(g, {}).get("IpPermissionsEgress", [])]
        if not any(_covers(r, port) and _rule_cidrs(r, "0.0.0.0/0") for r in egress) and not any(
            _covers(r, port) and set(_rule_groups(r)) & set(balancer.get("SecurityGroups", [])) for r in egress
        ):
            return failed(
                "reachability",
                subject,
                f"the hooks' security groups {sorted(hook_groups)} allow no outbound TCP {port}",
                f"allow outbound TCP {port} to the load balancer",
            )
        ingress = [r for g in balancer.get("SecurityGroups", []) for r in groups.get(g, {}).get("IpPermissions", [])]
        if scheme == "internet-facing":
            # From the VPC, the public DNS name resolves to public addresses: the request leaves through the
            # subnet's NAT gateway and arrives from its Elastic IP; a security-group reference cannot match it.
            found = {s: self.nat_ips.get(s) for s in vpc["SubnetIds"]}
            missing = [s for s, ip in found.items() if ip is None]
            if missing:
                return failed(
                    "reachability",
                    subject,
                    f"the load balancer is internet-facing, and the hooks' "
                    f"subnets {missing} have no NAT gateway: their requests cannot leave the VPC",
                    "add a NAT route to those subnets, or make the load balancer internal",
                )
            addresses = sorted({ip for ip in found.values() if ip})
            denied = [ip for ip in addresses if not _admits(ingress, port, ip, set())]
            if denied:
                return failed(
                    "reachability",
                    subject,
                    f"the load balancer is internet-facing: the hooks' requests arrive from the NAT gateways' public "
                    f"addresses {denied}, which its security group does not admit on TCP {port} (a reference to the "
                    "hooks' security group matches only private addresses); the hook would time out",
                    f"admit {', '.join(ip + '/32' for ip in denied)} on TCP {port}: reprovision "
                    "(playbooks/provision.yml admits the NAT addresses)",
                )
            return ok("reachability", subject, f"the hooks reach it through NAT ({', '.join(addresses)})")
        cidrs = [s["CidrBlock"] for s in self.client("ec2").describe_subnets(SubnetIds=vpc["SubnetIds"])["Subnets"]]
        denied = [c for c in cidrs if not _admits(ingress, port, c, hook_groups)]
        if denied:
            return failed(
                "reachability",
                subject,
                f"the internal load balancer's security group does not admit "
                f"the hooks (subnets {denied}, groups {sorted(hook_groups)}) on TCP {port}",
                f"admit the hooks' security group on TCP {port}",
            )
        return ok("reachability", subject, "the hooks reach it inside the VPC")


def _covers(rule: dict, port: int) -> bool:
    if rule.get("IpProtocol") == "-1":
        return True
    if rule.get("IpProtocol") not in ("tcp", "6"):
        return False
    return rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535)


def _rule_cidrs(rule: dict, address: str) -> bool:
    ip = ipaddress.ip_network(address, strict=False)
    for r in rule.get("IpRanges", []):
        network = ipaddress.ip_network(r["CidrIp"], strict=False)
        if ip.version == network.version and ip.subnet_of(network):  # type: ignore[arg-type]
            return True
    return False


def _rule_groups(rule: dict) -> list[str]:
    return [p["GroupId"] for p in rule.get("UserIdGroupPairs", []) if p.get("GroupId")]


def _admits(rules: list[dict], port: int, address: str, groups: set[str]) -> bool:
    return any(_covers(r, port) and (_rule_cidrs(r, address) or set(_rule_groups(r)) & groups) for r in rules)

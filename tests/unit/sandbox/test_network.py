"""Which connections a load balancer's security group admits, with AWS's addressing (sandbox/ec2/network.py)."""

from __future__ import annotations

from sandbox.ec2.network import Client, Rule, admitted

HOOK = Client(wire="127.3.0.1", private_ip="10.0.0.25", group_ids=frozenset({"sg-hooks"}), nat_public_ip="54.1.2.3")
NO_NAT = Client(wire="127.3.0.2", private_ip="10.0.1.9", group_ids=frozenset({"sg-hooks"}))
OPERATOR = Client(wire="127.0.0.1", public_ip="198.51.100.7")
TEST_PORT = 8443
BY_GROUP = Rule(TEST_PORT, TEST_PORT, "tcp", group_id="sg-hooks")
VPC_CIDR = Rule(TEST_PORT, TEST_PORT, "tcp", cidr="10.0.0.0/8")
NAT = Rule(TEST_PORT, TEST_PORT, "tcp", cidr="54.1.2.3/32")
OFFICE = Rule(TEST_PORT, TEST_PORT, "tcp", cidr="198.51.100.0/24")


def test_internal_scheme_sees_private_addresses_and_group_references() -> None:
    assert admitted(HOOK, "internal", TEST_PORT, [BY_GROUP])
    assert admitted(HOOK, "internal", TEST_PORT, [VPC_CIDR])
    assert not admitted(OPERATOR, "internal", TEST_PORT, [OFFICE]), "an internal load balancer is not on the internet"


def test_internet_facing_scheme_sees_the_nat_not_the_hook() -> None:
    """The review's defect: neither the group reference nor 10.0.0.0/8 admits a hook in the VPC."""
    assert not admitted(HOOK, "internet-facing", TEST_PORT, [BY_GROUP, VPC_CIDR])
    assert admitted(HOOK, "internet-facing", TEST_PORT, [NAT])
    assert not admitted(
        NO_NAT, "internet-facing", TEST_PORT, [NAT, BY_GROUP, VPC_CIDR, Rule(None, None, "-1", "0.0.0.0/0")]
    )


def test_ports_and_protocols() -> None:
    assert not admitted(OPERATOR, "internet-facing", 8080, [OFFICE])
    assert admitted(OPERATOR, "internet-facing", 8080, [Rule(None, None, "-1", cidr="0.0.0.0/0")])
    assert not admitted(OPERATOR, "internet-facing", TEST_PORT, [Rule(TEST_PORT, TEST_PORT, "udp", "0.0.0.0/0")])
    assert admitted(OPERATOR, "internet-facing", TEST_PORT, [Rule(8000, 9000, "6", "198.51.100.7/32")])

"""Where moto's EC2 stops short of AWS's (each patch is what AWS does, as documented)."""

from __future__ import annotations


def patch(region: str) -> None:
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    # An ENI has a private DNS name (moto's ECS tasks read it, and fail without it).
    NetworkInterface.private_dns_name = property(  # type: ignore[assignment]
        lambda eni: f"ip-{(eni.private_ip_address or '10.0.0.1').replace('.', '-')}.{region}.compute.internal"
    )
    answer_rule_description_updates()
    refuse_deleting_security_groups_in_use()


def answer_rule_description_updates() -> None:
    """UpdateSecurityGroupRuleDescriptions{Ingress,Egress} answer {"Return": true} (EC2 API reference); moto
    answers nothing, and amazon.aws.ec2_security_group then fails with KeyError 'Return'."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.security_groups import SecurityGroups

    for name in ("update_security_group_rule_descriptions_ingress", "update_security_group_rule_descriptions_egress"):
        original = getattr(SecurityGroups, name)

        def answered(self, _original=original):
            _original(self)
            return ActionResult({"Return": True})

        setattr(SecurityGroups, name, answered)


def refuse_deleting_security_groups_in_use() -> None:
    """EC2 refuses to delete a security group a network interface still uses (DependencyViolation); moto deleted it.
    The interfaces of a deleted VPC function linger (sandbox/awslambda/patches.py), and hold their groups meanwhile."""
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models import EC2Backend

    original_delete_group = EC2Backend.delete_security_group

    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None:
            users = [eni.id for eni in list(self.enis.values()) if group in eni.group_set]
            if users:
                raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return original_delete_group(self, name=name, group_id=group_id)

    EC2Backend.delete_security_group = delete_security_group

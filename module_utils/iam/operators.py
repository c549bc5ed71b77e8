"""The operators' policies of an environment (operator_policies): which playbook needs which access
(OPERATOR_ACCESS), and each access's customer managed policies."""

from __future__ import annotations

from ..model.names import OPERATOR_POLICIES
from .arns import Arns
from .ecs_operator_statements import (
    ecs_deploy_statements,
    ecs_inspect_statements,
    ecs_operate_statements,
    ecs_provision_statements,
)
from .operator_scope import operator_scope
from .operator_statements import deploy_statements, inspect_statements, operate_statements, provision_statements

# The access each playbook declares (its play variable bluegreen_access) -> the operator policies its credential
# carries (playbooks/operator_access.yml writes them, one customer managed policy each, per environment).
OPERATOR_ACCESS = {
    "inspect": {"playbooks": ["playbooks/drift_check.yml"], "policies": ["inspect"]},
    "provision": {
        "playbooks": ["playbooks/provision.yml", "playbooks/teardown.yml"],
        "policies": ["inspect", "provision"],
    },
    "deploy": {"playbooks": ["playbooks/deploy.yml", "playbooks/verify.yml"], "policies": ["deploy"]},
    "operate": {
        "playbooks": ["playbooks/promote.yml", "playbooks/rollback.yml", "playbooks/status.yml"],
        "policies": ["operate"],
    },
}
OPERATOR_DESCRIPTIONS = {
    "inspect": "Reads what provisioning manages (the drift check, and provisioning before it changes anything)",
    "provision": "Creates, updates and removes the environment's stacks (with the inspect policy)",
    "deploy": "Registers a task definition revision and deploys it blue/green, following it to the end",
    "operate": "Promotes, stops, rolls back and reports the environment's deployments",
}
_STATEMENTS = {
    "inspect": inspect_statements,
    "provision": provision_statements,
    "deploy": deploy_statements,
    "operate": operate_statements,
}
# The ECS controller's policy from the CodeDeploy controller's.
_ECS_STATEMENTS = {
    "inspect": ecs_inspect_statements,
    "provision": ecs_provision_statements,
    "deploy": ecs_deploy_statements,
    "operate": ecs_operate_statements,
}


def operator_policies(
    names: dict, *, partition: str, account: str, region: str, path: str = "/", controller: str = "codedeploy"
) -> dict:
    """The operator policies of an environment (names: the model's, of any of its services):
    {"policies": {policy: {name, description, statements}}, "attach": {access: [policy ARNs]}}. Every statement
    is scoped to the environment's names: `<app>-<env>` and `<app>-<env>-*` (its further services).

    `controller` "ecs": the environment deploys with ECS itself, so no CodeDeploy statement; instead the listener
    rules (provision), passing ECS its two roles, and the service deployments (deploy, operate)."""
    arns = Arns(partition, account, region)
    scope = operator_scope(names, arns, path)
    statements = {key: _STATEMENTS[key](scope) for key in OPERATOR_POLICIES}
    if controller == "ecs":
        statements = {key: _ECS_STATEMENTS[key](value, scope) for key, value in statements.items()}
    policies: dict[str, dict] = {
        key: {"name": scope.policy_names[key], "description": OPERATOR_DESCRIPTIONS[key], "statements": value}
        for key, value in statements.items()
    }
    policy_arn = {key: arns.policy(policy["name"]) for key, policy in policies.items()}
    attach = {access: [policy_arn[p] for p in spec["policies"]] for access, spec in OPERATOR_ACCESS.items()}
    return {"policies": policies, "attach": attach}

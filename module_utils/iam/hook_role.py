"""The statements of a service's hooks role: what its five lifecycle hook functions do (hooks/)."""

from __future__ import annotations

from ..model.names import ROLES
from .arns import Arns
from .statements import pass_role, statement

# The tag the migration task is started with (hooks/run_migrations.py): the hooks may stop only tasks that carry it.
MIGRATION_TAG = ("bluegreen:purpose", "migration")


def hook_statements(names: dict, arns: Arns, path: str, *, ecs: bool) -> list[dict]:
    """The hooks role's statements; `ecs`: the hooks follow an ECS service deployment, not a CodeDeploy one."""
    return [
        *(_read_the_service_deployment(names, arns) if ecs else _read_the_codedeploy_deployment(names, arns)),
        statement("ReadTheService", ["ecs:DescribeServices"], [arns.service(names)]),
        statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], "*"),
        *_run_and_stop_the_migration_task(names, arns),
        pass_role("PassTheTaskRoles", arns.task_roles(names, path), ROLES["task"]),
        statement(
            "ReadTheLoadBalancer",
            [
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",
        ),
        statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], arns.alarms(names)),
        statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arns.regional("logs", f"log-group:{group}:*") for group in names["hook_log_groups"]],
        ),
        *_manage_the_network_interfaces(arns),
    ]


def _read_the_codedeploy_deployment(names: dict, arns: Arns) -> list[dict]:
    application = names["codedeploy_application"]
    return [
        statement(
            "ReadTheDeployment",
            ["codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments"],
            [arns.regional("codedeploy", f"deploymentgroup:{application}/{names['deployment_group']}")],
        ),
        statement(
            "ReadTheAppSpec",
            ["codedeploy:GetApplicationRevision"],
            [arns.regional("codedeploy", f"application:{application}")],
        ),
        statement(
            "ReportAndListTargets",
            [
                "codedeploy:PutLifecycleEventHookExecutionStatus",
                "codedeploy:ListDeploymentTargets",
                "codedeploy:BatchGetDeploymentTargets",
            ],
            "*",
        ),
    ]


def _read_the_service_deployment(names: dict, arns: Arns) -> list[dict]:
    cluster, service = names["cluster"], names["ecs_service"]
    return [
        statement(
            "ReadTheServiceDeployment",
            ["ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments", "ecs:DescribeServiceRevisions"],
            [
                arns.service(names),
                arns.regional("ecs", f"service-deployment/{cluster}/{service}/*"),
                arns.regional("ecs", f"service-revision/{cluster}/{service}/*"),
            ],
        ),
        statement("ReadTheListenerRules", ["elasticloadbalancing:DescribeRules"], "*"),
        statement("FindTheMigrationTask", ["ecs:ListTasks"], "*", {"ArnEquals": {"ecs:cluster": arns.cluster(names)}}),
    ]


def _run_and_stop_the_migration_task(names: dict, arns: Arns) -> list[dict]:
    """BeforeAllowTraffic's migration: a task of the service's family in its cluster, tagged so it alone can be
    stopped."""
    tag_key, tag_value = MIGRATION_TAG
    tasks = arns.tasks(names)
    return [
        statement(
            "RunTheMigrationTask",
            ["ecs:RunTask"],
            [arns.regional("ecs", f"task-definition/{names['task_family']}:*")],
            {"ArnEquals": {"ecs:cluster": arns.cluster(names)}},
        ),
        statement(
            "TagTheMigrationTask",
            ["ecs:TagResource"],
            [tasks],
            {"StringEquals": {"ecs:CreateAction": "RunTask", f"aws:RequestTag/{tag_key}": tag_value}},
        ),
        statement("WatchTheMigrationTask", ["ecs:DescribeTasks"], [tasks]),
        statement(
            "StopOnlyTheMigrationTask",
            ["ecs:StopTask"],
            [tasks],
            {"StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value}},
        ),
    ]


def _manage_the_network_interfaces(arns: Arns) -> list[dict]:
    """What Lambda does with the execution role of a function in a VPC."""
    return [
        statement("DescribeNetworkInterfaces", ["ec2:DescribeNetworkInterfaces"], "*"),
        statement(
            "ManageNetworkInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            arns.each("ec2", "network-interface/*", "subnet/*", "security-group/*"),
        ),
    ]

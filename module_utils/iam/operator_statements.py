"""The statements of each operator policy of an environment of the CodeDeploy controller, one function per
policy (ecs_operator_statements.py derives the ECS controller's from them)."""

from __future__ import annotations

from ..model.names import ROLES
from .operator_scope import OperatorScope
from .statements import pass_role, statement


def inspect_statements(scope: OperatorScope) -> list[dict]:
    """What the drift check reads, and provisioning before it changes anything."""
    return [
        statement(
            "DescribeWithoutResourceTypes",
            [
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeNatGateways",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeTags",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTags",
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
                "logs:DescribeLogGroups",
                "iam:ListAccountAliases",
            ],
            "*",
        ),
        _read_the_vpc(scope),
        statement(
            "ReadTheRoles",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
            ],
            scope.roles + scope.roles_by_name,
        ),
        statement(
            "ReadTheCluster",
            ["ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTasks"],
            scope.cluster + scope.services + scope.tasks,
        ),
        statement(
            "ReadCodeDeploy",
            [
                "codedeploy:GetApplication",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:GetDeploymentConfig",
                "codedeploy:ListTagsForResource",
            ],
            scope.applications + scope.groups + scope.configs,
        ),
        statement("ReadTheHooks", ["lambda:GetFunction", "lambda:ListTags"], scope.functions),
        statement("ReadTheLogGroups", ["logs:ListTagsLogGroup"], scope.log_groups),
        statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], scope.alarms),
        statement("ReadTheSecrets", ["secretsmanager:DescribeSecret"], scope.secrets),
    ]


def provision_statements(scope: OperatorScope) -> list[dict]:
    """What provisioning and teardown change (with the inspect policy's reads)."""
    return [
        *_manage_the_roles(scope),
        *_manage_the_network_and_load_balancers(scope),
        *_manage_the_cluster(scope),
        *_manage_codedeploy_hooks_logs_and_alarms(scope),
    ]


def deploy_statements(scope: OperatorScope) -> list[dict]:
    """What a deploy does (register a revision, deploy it, explain a failure) and its preflight reads."""
    return [
        statement(
            "DescribeWithoutResourceTypes",
            [
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeNatGateways",
                "ec2:DescribeSecurityGroups",
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
            ],
            "*",
        ),
        _read_the_vpc(scope),
        statement("RegisterTheTaskDefinition", ["ecs:RegisterTaskDefinition"], scope.families),
        pass_role("PassTheTaskRoles", scope.task_roles, ROLES["task"]),
        statement("ReadTheSecrets", ["secretsmanager:DescribeSecret"], scope.secrets),
        statement(
            "Deploy",
            [
                "codedeploy:CreateDeployment",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:ListDeployments",
                "codedeploy:GetApplicationRevision",
            ],
            scope.applications + scope.groups,
        ),
        _deployment_targets(),
        statement(
            "ExplainAFailure", ["ecs:DescribeTasks", "logs:FilterLogEvents"], scope.tasks + scope.hook_log_groups
        ),
        statement("FindTheStoppedTasks", ["ecs:ListTasks"], "*", {"ArnEquals": {"ecs:cluster": scope.cluster[0]}}),
        statement("ExplainAnAlarm", ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"], scope.alarms),
        statement("ReadTheAlarmMetrics", ["cloudwatch:GetMetricStatistics"], "*"),
        *_preflight(scope),
    ]


def operate_statements(scope: OperatorScope) -> list[dict]:
    """What promote, rollback and status do with the environment's deployments."""
    return [
        statement(
            "FollowAndControlDeployments",
            [
                "codedeploy:ListDeployments",
                "codedeploy:BatchGetDeployments",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:GetApplicationRevision",
                "codedeploy:CreateDeployment",
            ],
            scope.applications + scope.groups,
        ),
        statement("StopAndContinue", ["codedeploy:StopDeployment", "codedeploy:ContinueDeployment"], "*"),
        statement(
            "FindTheProductionListener",
            [
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTags",
            ],
            "*",
        ),
        _deployment_targets(),
    ]


def _read_the_vpc(scope: OperatorScope) -> dict:
    return statement("ReadTheVpc", ["ec2:DescribeVpcAttribute"], scope.arns.each("ec2", "vpc/*"))


def _deployment_targets() -> dict:
    return statement(
        "DeploymentTargets", ["codedeploy:ListDeploymentTargets", "codedeploy:BatchGetDeploymentTargets"], "*"
    )


def _manage_the_roles(scope: OperatorScope) -> list[dict]:
    return [
        statement(
            "ManageTheRoles",
            ["iam:CreateRole", "iam:TagRole", "iam:DeleteRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            scope.roles,
        ),
        pass_role("PassTheTaskRoles", scope.task_roles, ROLES["task"]),
        pass_role("PassTheHookRole", scope.hook_roles, ROLES["hooks"]),
        pass_role("PassTheCodeDeployRole", scope.codedeploy_roles, ROLES["codedeploy"]),
    ]


def _manage_the_network_and_load_balancers(scope: OperatorScope) -> list[dict]:
    return [
        statement(
            "ManageTheSecurityGroups",
            ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            scope.arns.each("ec2", "security-group/*", "vpc/*"),
        ),
        statement(
            "TagNewSecurityGroups",
            ["ec2:CreateTags"],
            scope.arns.each("ec2", "security-group/*"),
            {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
        ),
        statement(
            "CreateTheLoadBalancers",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            scope.balancers + scope.target_groups,
        ),
        statement(
            "ManageTheLoadBalancers",
            [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeleteTargetGroup",
            ],
            scope.balancers + scope.listeners + scope.target_groups,
        ),
    ]


def _manage_the_cluster(scope: OperatorScope) -> list[dict]:
    on_the_cluster = {"ArnEquals": {"ecs:cluster": scope.cluster[0]}}
    return [
        statement(
            "ManageTheCluster",
            ["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService"],
            scope.cluster + scope.services,
        ),
        statement(
            "TagNewServicesAndTasks",
            ["ecs:TagResource"],
            scope.services + scope.tasks,
            {"StringEquals": {"ecs:CreateAction": ["CreateService", "RunTask"]}},
        ),
        statement("RegisterTaskDefinitions", ["ecs:RegisterTaskDefinition"], scope.families),
        statement("RunTheFirstMigration", ["ecs:RunTask"], scope.families, on_the_cluster),
        statement(
            "TeardownLookups", ["ec2:DescribeNetworkInterfaces", "ecs:ListServices", "codedeploy:ListApplications"], "*"
        ),
    ]


def _manage_codedeploy_hooks_logs_and_alarms(scope: OperatorScope) -> list[dict]:
    return [
        statement(
            "ManageCodeDeploy",
            [
                "codedeploy:CreateApplication",
                "codedeploy:DeleteApplication",
                "codedeploy:CreateDeploymentGroup",
                "codedeploy:UpdateDeploymentGroup",
                "codedeploy:DeleteDeploymentGroup",
                "codedeploy:CreateDeploymentConfig",
                "codedeploy:DeleteDeploymentConfig",
                "codedeploy:ListDeployments",
            ],
            # The environment's own deployment configs, not the predefined ones.
            scope.applications + scope.groups + scope.configs[:1],
        ),
        statement(
            "ManageTheHooks", ["lambda:CreateFunction", "lambda:TagResource", "lambda:DeleteFunction"], scope.functions
        ),
        statement(
            "ManageTheLogGroups",
            ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"],
            scope.log_groups,
        ),
        statement("ManageTheAlarms", ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"], scope.alarms),
    ]


def _preflight(scope: OperatorScope) -> list[dict]:
    """The preflight (playbooks/verify.yml, which deploy.yml runs first): reads only."""
    arns = scope.arns
    return [
        statement(
            "PreflightWithoutResourceTypes",
            [
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcEndpoints",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetHealth",
                "logs:DescribeLogGroups",
                "ssm:DescribeParameters",
                "codedeploy:ListDeploymentConfigs",
            ],
            "*",
        ),
        statement("PreflightTheService", ["ecs:DescribeServices"], scope.services),
        statement("PreflightTheDeploymentConfig", ["codedeploy:GetDeploymentConfig"], scope.configs),
        statement("PreflightTheHooks", ["lambda:GetFunctionConfiguration"], scope.functions),
        statement("PreflightTheSecretPolicies", ["secretsmanager:GetResourcePolicy"], scope.secrets),
        statement(
            "PreflightTheImageAndCertificate",
            ["ecr:DescribeImages", "acm:DescribeCertificate"],
            arns.each("ecr", "repository/*") + arns.each("acm", "certificate/*"),
        ),
        statement(
            "PreflightTheQuota", ["servicequotas:GetServiceQuota"], arns.each("servicequotas", "fargate/L-3032A538")
        ),
        statement(
            "SimulateThePolicies",
            ["iam:SimulatePrincipalPolicy"],
            [*scope.roles, arns.user("${aws:username}")],
        ),
    ]

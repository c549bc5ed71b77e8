"""Preflight: whether a blue/green deployment of one service can succeed in its environment, read before anything
changes. Each check reads AWS and returns findings: `ok`, `failed` (what is wrong, and the fix) or `not checked`
(what this check could not read or AWS cannot simulate, said plainly, never counted as a pass).

Used by library/bluegreen_verify.py (playbooks/verify.yml, which deploy.yml runs first). The checks take boto3
clients, so the tests run them against the sandbox as the module does. The reasoning about who reaches a listener
is written here from the VPC and ELB user guides, not shared with the sandbox's model of it (sandbox/network.py):
the sandbox is the AWS this code is tested against, and a shared mistake would pass both.

Why hand-written: ecspresso's `verify` is a Go CLI for its own config format, and no Python library checks an ECS
blue/green environment; the API calls go through boto3's paginators and the amazon.aws module's retries.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

try:
    from botocore.loaders import create_loader
except ImportError:  # pragma: no cover - AnsibleAWSModule reports a missing botocore
    create_loader = None

from ..iam.policies import operator_policies, role_policies
from ..model.ecs import ACTIVE_STATUSES as ECS_ACTIVE_STATUSES
from ..model.ecs import EcsPlanError, service_deployment_briefs, traffic_plan

OK, FAILED, NOT_CHECKED = "ok", "failed", "not checked"
# CodeDeploy's statuses of a deployment that has not ended.
ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]
# Fargate On-Demand vCPU resource count (Service Quotas, service code "fargate").
FARGATE_VCPU_QUOTA = ("fargate", "L-3032A538")
# What the tasks and the hook functions reach from their subnets, by the VPC endpoint service that serves it
# without a NAT gateway (endpoint_service_names). S3 serves ECR's image layers (a gateway endpoint).
TASK_ENDPOINTS = {"ecr.api": "ECR (image manifest)", "ecr.dkr": "ECR (docker registry)", "s3": "S3 (image layers)"}
LOGS_ENDPOINT = {"logs": "CloudWatch Logs"}
# The ECS agent reads each secret from the service that holds it (secret_service).
SECRET_ENDPOINTS = {
    "secretsmanager": "Secrets Manager (the task's secrets)",
    "ssm": "SSM Parameter Store (the task's parameters)",
}
HOOK_ENDPOINTS = {
    "codedeploy": "CodeDeploy (to report the hook's result)",
    "ecs": "ECS",
    "elasticloadbalancing": "Elastic Load Balancing",
    "monitoring": "CloudWatch (alarms)",
}
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)$")


def secret_service(reference: str) -> str:
    """`ssm` for an SSM parameter's ARN; any other reference is a Secrets Manager secret (a name, a partial or full
    ARN), as library/secret_arns.py resolves it for the task definition."""
    return "ssm" if reference.startswith("arn:") and reference.split(":")[2:3] == ["ssm"] else "secretsmanager"


@functools.cache
def _endpoint_prefixes(partition: str) -> tuple[str, ...]:
    # AWS names its endpoint services after the partition's DNS suffix, reversed (cn.com.amazonaws in China), but in
    # China only some services took that name (ECR, S3, CloudWatch); others, CloudWatch Logs, ECS, Secrets Manager
    # and SSM among them, kept com.amazonaws (DescribeVpcEndpointServices there, as aws-cdk records it). Either
    # name is the service's own, so an endpoint by either serves.
    partitions = create_loader().load_data("partitions")["partitions"]
    suffix = next((p["outputs"]["dnsSuffix"] for p in partitions if p["id"] == partition), "amazonaws.com")
    return tuple(dict.fromkeys([".".join(reversed(suffix.split("."))), "com.amazonaws"]))


def endpoint_service_names(partition: str, region: str, service: str) -> set[str]:
    """The names a VPC endpoint of an AWS service has in this partition and region."""
    return {f"{prefix}.{region}.{service}" for prefix in _endpoint_prefixes(partition)}


@dataclass
class Finding:
    check: str  # image, secrets, network, reachability, tls, iam, codedeploy, ecs, hooks, logs, inputs, quotas
    subject: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():11} {self.check}: {self.subject}: {self.message}"
        return f"{text} FIX: {self.fix}" if self.fix else text


def ok(check, subject, message):
    return Finding(check, subject, OK, message)


def failed(check, subject, message, fix):
    return Finding(check, subject, FAILED, message, fix)


def not_checked(check, subject, message):
    return Finding(check, subject, NOT_CHECKED, message)


def error_code(error) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def _denied(error) -> bool:
    return error_code(error) in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class Facts:
    """What several checks read (the deployment group, the service, the hook functions, the load balancer),
    read once."""

    def __init__(self):
        self.group: dict | None = None
        self.service: dict | None = None
        self.functions: dict[str, dict] = {}
        self.load_balancer: dict | None = None
        self.listeners: dict[str, dict] = {}  # "production" / "test" -> listener
        self.account = ""
        self.partition = "aws"
        self.caller_arn = ""
        self.task_definition: dict | None = None  # the original (serving) task set's


class Verify:
    """All checks of one service. `clients(name)` gives a boto3 client; `params` the module's options."""

    def __init__(self, clients, params: dict):
        self.client = clients
        self.p = params
        self.names = params["names"]
        self.region = params["region"]
        # Who deploys (bluegreen_controller): CodeDeploy, or ECS itself.
        self.controller = params.get("controller") or "codedeploy"
        self.facts = Facts()
        self.secret_arns: dict[str, str] = {}  # reference -> the secret's full ARN
        self.nat_ips: dict[str, str | None] = {}  # subnet -> the public IP of the NAT gateway it routes through

    # --- running ----------------------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        """Reads that others need first, then every check, concurrently (each check reads only)."""
        findings: list[Finding] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = [
                pool.submit(self.guarded, f)
                for f in (self.caller, self.deployments, self.ecs, self.hooks, self.load_balancer)
            ]
            for future in first:
                findings += future.result()
            rest = [self.network, self.secrets, self.inputs, self.image, self.log_groups, self.tls, self.iam_caller]
            rest += [self.quotas, self.alarms]
            futures = [pool.submit(self.guarded, f) for f in rest]
            findings += futures[0].result() + futures[1].result()
            # The hooks' requests to the listeners leave through the NAT gateways network() found; the roles'
            # statements name the secrets by the full ARNs secrets() found.
            futures += [pool.submit(self.guarded, self.reachability), pool.submit(self.guarded, self.iam_roles)]
            for future in futures[2:]:
                findings += future.result()
        return findings

    def guarded(self, check) -> list[Finding]:
        """A check whose read AWS refuses is not checked, and says which call was refused; the other checks go
        on (every finding is reported, not only the first)."""
        try:
            return check()
        except Exception as e:
            if not _denied(e):
                raise
            name = check.__name__.replace("_", " ")
            return [not_checked(name, "-", f"a read was refused: {e}")]

    # --- identity ---------------------------------------------------------------------------------------

    def caller(self) -> list[Finding]:
        identity = self.client("sts").get_caller_identity()
        self.facts.account = identity["Account"]
        self.facts.caller_arn = identity["Arn"]
        self.facts.partition = identity["Arn"].split(":")[1]
        return []

    # --- CodeDeploy -------------------------------------------------------------------------------------

    def deployments(self) -> list[Finding]:
        """What runs the deployments is there, and none is active (the controller's own)."""
        return self.codedeploy() if self.controller == "codedeploy" else self.service_deployments()

    def service_deployments(self) -> list[Finding]:
        """The ECS controller: no service deployment in progress (a new one would stop it where it is)."""
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        subject = f"{cluster}/{name}"
        try:
            # Every page, newest first: the one named is the one a deploy would meet.
            active = service_deployment_briefs(
                self.client("ecs").list_service_deployments,
                cluster=cluster,
                service=name,
                status=list(ECS_ACTIVE_STATUSES),
            )
        except Exception as e:
            if error_code(e) not in ("ServiceNotFoundException", "ClusterNotFoundException"):
                raise
            return []  # ecs() says the service is missing
        if not active:
            return [ok("ecs", subject, "no service deployment is active")]
        arn = active[0]["serviceDeploymentArn"]
        if self.p.get("active_deployment_allowed"):
            return [ok("ecs", subject, f"service deployment {arn} is active: deploy.yml follows or replaces it")]
        env = self.names["env"]
        return [
            failed(
                "ecs",
                subject,
                f"service deployment {arn} is still {active[0].get('status')}: a new one would stop it where it is",
                f"wait for it (playbooks/status.yml -i inventories/{env}), promote or roll it back "
                "(playbooks/promote.yml / rollback.yml), or deploy with -e replace_active=true",
            )
        ]

    def codedeploy(self) -> list[Finding]:
        codedeploy = self.client("codedeploy")
        application, group = self.names["codedeploy_application"], self.names["deployment_group"]
        subject = f"{application}/{group}"
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        try:
            info = codedeploy.get_deployment_group(applicationName=application, deploymentGroupName=group)
        except Exception as e:
            code = error_code(e)
            if code in ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"):
                what = "application" if code.startswith("Application") else "deployment group"
                return [failed("codedeploy", subject, f"the CodeDeploy {what} does not exist", provision)]
            raise
        self.facts.group = info["deploymentGroupInfo"]
        group_info = self.facts.group
        findings = []
        wanted = [{"serviceName": self.names["ecs_service"], "clusterName": self.names["cluster"]}]
        style = group_info.get("deploymentStyle") or {}
        pairs = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        groups = sorted(g.get("name", "") for g in pairs[0].get("targetGroups") or [])
        problems = []
        if group_info.get("computePlatform") != "ECS":
            problems.append(f"compute platform {group_info.get('computePlatform')} (not ECS)")
        if group_info.get("ecsServices") != wanted:
            problems.append(f"it deploys {group_info.get('ecsServices')}, not {wanted}")
        if style != {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}:
            problems.append(f"deployment style {style}")
        if groups != sorted(self.names["target_groups"]):
            problems.append(f"target groups {groups}, not {sorted(self.names['target_groups'])}")
        if problems:
            findings.append(
                failed("codedeploy", subject, "the deployment group differs: " + "; ".join(problems), provision)
            )
        else:
            findings.append(
                ok(
                    "codedeploy",
                    subject,
                    f"deployment group of {self.names['ecs_service']}, config {group_info.get('deploymentConfigName')}",
                )
            )
        active = codedeploy.list_deployments(
            applicationName=application, deploymentGroupName=group, includeOnlyStatuses=ACTIVE_STATUSES
        ).get("deployments", [])
        if active and not self.p.get("active_deployment_allowed"):
            env = self.names["env"]
            findings.append(
                failed(
                    "codedeploy",
                    subject,
                    f"deployment {active[0]} is still active: a new deployment would be refused "
                    "(DeploymentLimitExceededException)",
                    f"wait for it (playbooks/status.yml -i inventories/{env}), promote or roll it back "
                    f"(playbooks/promote.yml / rollback.yml), or deploy with -e replace_active=true",
                )
            )
        elif active:
            findings.append(
                ok(
                    "codedeploy",
                    subject,
                    f"deployment {active[0]} is active: deploy.yml follows or replaces it (replace_active)",
                )
            )
        else:
            findings.append(ok("codedeploy", subject, "no deployment is active"))
        return findings

    def inputs(self) -> list[Finding]:
        """The deployment config this deploy uses exists and is an ECS config (CreateDeployment refuses it
        after a task definition revision is registered, otherwise)."""
        name = self.p.get("deployment_config") or (self.facts.group or {}).get("deploymentConfigName")
        if not name:
            return []
        if self.controller == "ecs":
            return self._ecs_traffic_plan(name)
        codedeploy = self.client("codedeploy")
        try:
            config = codedeploy.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        except Exception as e:
            # A name outside the environment's configs (<environment>-*) and CodeDeployDefault.* is one the deploy
            # credential may not read (docs/iam.md): either way, not a config this deploy can use.
            outside = not name.startswith((self.names["environment"] + "-", "CodeDeployDefault."))
            if not (error_code(e) == "DeploymentConfigDoesNotExistException" or (outside and _denied(e))):
                raise
            known = [
                n
                for page in codedeploy.get_paginator("list_deployment_configs").paginate()
                for n in page.get("deploymentConfigsList", [])
                if n.startswith("CodeDeployDefault.ECS") or n.startswith(self.names["environment"])
            ]
            return [
                failed(
                    "inputs",
                    f"deployment_config={name}",
                    "no such deployment config in this account and region",
                    f"use one of {', '.join(sorted(known))}, or none for the group's own",
                )
            ]
        if config.get("computePlatform") != "ECS":
            return [
                failed(
                    "inputs",
                    f"deployment_config={name}",
                    f"is a {config.get('computePlatform')} config: an ECS deployment needs an ECS one",
                    "use a CodeDeployDefault.ECS... config or the group's own",
                )
            ]
        routing = config.get("trafficRoutingConfig") or {}
        return [ok("inputs", f"deployment_config={name}", f"ECS config, traffic {routing.get('type', 'AllAtOnce')}")]

    def _ecs_traffic_plan(self, name: str) -> list[Finding]:
        """The ECS controller maps a plan onto an ECS strategy (module_utils/model/ecs.py): a predefined
        CodeDeploy config, or the inventory's own with its custom routing."""
        routing = self.p.get("custom_traffic_routing") if name == self.p.get("traffic_config_name") else None
        try:
            plan = traffic_plan(name, routing or None)
        except EcsPlanError as e:
            return [
                failed(
                    "inputs",
                    f"deployment_config={name}",
                    str(e),
                    "name a CodeDeployDefault.ECS... plan, or the inventory's own (codedeploy_deployment_config_name)",
                )
            ]
        return [ok("inputs", f"deployment_config={name}", f"traffic {plan.get('type', 'AllAtOnce')} (ECS strategy)")]

    # --- ECS --------------------------------------------------------------------------------------------

    def _ecs_native(self, service: dict) -> list[Finding]:
        """The ECS controller's service: deploymentController ECS with a blue/green strategy, steady."""
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        subject = f"{cluster}/{name}"
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        strategy = (service.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING"
        if controller != "ECS" or strategy not in ("BLUE_GREEN", "LINEAR", "CANARY"):
            return [
                failed(
                    "ecs",
                    subject,
                    f"the service's deployment controller is {controller} with strategy {strategy}: the ECS controller "
                    "needs ECS with BLUE_GREEN, LINEAR or CANARY",
                    "a CODE_DEPLOY service moves by the procedure of docs/controllers.md; else reprovision it",
                )
            ]
        self.facts.task_definition = self.client("ecs").describe_task_definition(
            taskDefinition=service["taskDefinition"]
        )["taskDefinition"]
        running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
        if running < desired or desired == 0:
            return [
                failed(
                    "ecs",
                    subject,
                    f"the service is not steady ({running} of {desired} tasks running)",
                    "find why its tasks stop: aws ecs describe-tasks / the service's events; deploy when it is steady",
                )
            ]
        return [ok("ecs", subject, f"ECS-controlled ({strategy}), steady with {running} tasks")]

    def ecs(self) -> list[Finding]:
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        services = self.client("ecs").describe_services(cluster=cluster, services=[name]).get("services", [])
        service = next((s for s in services if s.get("status") == "ACTIVE"), None)
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        if service is None:
            return [failed("ecs", f"{cluster}/{name}", "the service does not exist", provision)]
        self.facts.service = service
        if self.controller == "ecs":
            return self._ecs_native(service)
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller != "CODE_DEPLOY":
            return [
                failed(
                    "ecs",
                    f"{cluster}/{name}",
                    f"the service's deployment controller is {controller}, not CODE_DEPLOY: CodeDeploy cannot "
                    "deploy it (a controller is set when a service is created)",
                    "recreate the service with provision.yml (teardown.yml first), or deploy it with its controller",
                )
            ]
        findings = []
        primary = [t for t in service.get("taskSets", []) if t.get("status") == "PRIMARY"]
        if not primary:
            findings.append(failed("ecs", f"{cluster}/{name}", "the service has no PRIMARY task set", provision))
            return findings
        task_set = primary[0]
        self.facts.task_definition = self.client("ecs").describe_task_definition(
            taskDefinition=task_set["taskDefinition"]
        )["taskDefinition"]
        steady = task_set.get("stabilityStatus") == "STEADY_STATE"
        running, desired = task_set.get("runningCount", 0), task_set.get("computedDesiredCount", 0)
        if not steady or running < desired or desired == 0:
            findings.append(
                failed(
                    "ecs",
                    f"{cluster}/{name}",
                    f"the original task set {task_set['id']} is not steady ({task_set.get('stabilityStatus')}, "
                    f"{running} of {desired} tasks running)",
                    "find why its tasks stop: aws ecs describe-tasks / the service's events; deploy when it is "
                    "steady (a deployment starts from a stable original task set)",
                )
            )
        else:
            findings.append(
                ok(
                    "ecs",
                    f"{cluster}/{name}",
                    f"CODE_DEPLOY-controlled, task set {task_set['id']} steady with {running} tasks",
                )
            )
        for balancer in task_set.get("loadBalancers", [])[:1]:
            findings += self._targets_healthy(balancer["targetGroupArn"])
        return findings

    def _targets_healthy(self, target_group_arn: str) -> list[Finding]:
        health = self.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
        states = [d["TargetHealth"]["State"] for d in health.get("TargetHealthDescriptions", [])]
        group = target_group_arn.split("/")[-2]
        if states and all(s == "healthy" for s in states):
            return [ok("ecs", f"target group {group}", f"the original task set's {len(states)} targets are healthy")]
        if "healthy" in states and not {"unhealthy", "unavailable"} & set(states):
            # Some still "initial" (registration in progress, or health checks just changed) or "draining": not a
            # fault, and not yet known healthy.
            return [
                not_checked(
                    "ecs",
                    f"target group {group}",
                    f"the original task set's targets are {sorted(states)}: some are not known healthy yet",
                )
            ]
        return [
            failed(
                "ecs",
                f"target group {group}",
                f"the original task set's targets are {states or 'none'}: production is not healthy now",
                "fix production first (playbooks/status.yml shows it); a deployment would start from it",
            )
        ]

    # --- hooks and log groups ---------------------------------------------------------------------------

    def hooks(self) -> list[Finding]:
        findings = []
        lambda_ = self.client("lambda")
        for event, function in self.names["hook_functions"].items():
            try:
                config = lambda_.get_function_configuration(FunctionName=function)
            except Exception as e:
                if error_code(e) != "ResourceNotFoundException":
                    raise
                findings.append(
                    failed(
                        "hooks",
                        function,
                        f"the {event} hook function does not exist: CodeDeploy fails the lifecycle event",
                        f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                    )
                )
                continue
            self.facts.functions[event] = config
            state, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
            if state != "Active" or update not in ("Successful", None):
                findings.append(
                    failed(
                        "hooks",
                        function,
                        f"the {event} hook is {state} (last update {update}: {config.get('StateReason', '')})",
                        "wait for it to become Active, or reprovision (playbooks/provision.yml)",
                    )
                )
            else:
                findings.append(ok("hooks", function, f"{event} hook Active"))
        return findings

    def log_groups(self) -> list[Finding]:
        logs = self.client("logs")
        findings = []
        for group in [self.names["log_group"], *self.names["hook_log_groups"]]:
            found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
            if any(g["logGroupName"] == group for g in found):
                findings.append(ok("logs", group, "exists"))
            else:
                findings.append(
                    failed(
                        "logs",
                        group,
                        "the log group does not exist: the awslogs driver cannot start the tasks "
                        "(ResourceInitializationError)"
                        if group == self.names["log_group"]
                        else "the log group does not exist: the hook's logs are lost",
                        f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                    )
                )
        return findings

    def alarms(self) -> list[Finding]:
        """The alarms the deployment group stops on exist (a missing one watches nothing) and none is in ALARM
        now (CodeDeploy would stop the deployment at its first poll, and roll it back)."""
        group = self.facts.group
        configuration = (group or {}).get("alarmConfiguration") or {}
        names = [a["name"] for a in configuration.get("alarms") or []] if group else list(self.names["alarms"])
        subject = self.names["deployment_group"]
        if group and not (configuration.get("enabled") and names):
            return [ok("alarms", subject, "none: the deployment group stops on no alarm (codedeploy_alarms_enabled)")]
        found = {}
        for first in range(0, len(names), 100):
            for alarm in (
                self.client("cloudwatch").describe_alarms(AlarmNames=names[first : first + 100]).get("MetricAlarms", [])
            ):
                found[alarm["AlarmName"]] = alarm
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        findings = [
            failed("alarms", name, "does not exist: it cannot stop a version that fails under traffic", provision)
            for name in names
            if name not in found
        ]
        for name, alarm in sorted(found.items()):
            if alarm.get("StateValue") == "ALARM":
                findings.append(
                    failed(
                        "alarms",
                        name,
                        f"in ALARM now ({alarm.get('StateReason', '')}): the deployment would be stopped at once",
                        "find out why (the service's log; aws cloudwatch describe-alarm-history --alarm-name "
                        f"{name}), then deploy once it is OK",
                    )
                )
        if not findings:
            states = sorted({a.get("StateValue", "?") for a in found.values()})
            findings.append(ok("alarms", subject, f"{len(found)} alarm(s), none in ALARM ({', '.join(states)})"))
        return findings

    # --- image and secrets ------------------------------------------------------------------------------

    def image_name(self) -> str:
        """The image this deployment runs: the inventory's repository (else the serving task definition's) with
        the tag given; empty without a tag."""
        tag = self.p.get("image_tag") or ""
        repository = self.p.get("image_repository") or ""
        if not repository and self.facts.task_definition:
            serving = self.facts.task_definition["containerDefinitions"][0]["image"]
            repository = serving.split("@")[0].rpartition(":")[0] if ":" in serving.split("/")[-1] else serving
        return f"{repository}:{tag}" if tag and repository else ""

    def image(self) -> list[Finding]:
        image = self.image_name()
        if not image:
            return [not_checked("image", "-", "no image_tag given (-e image_tag=...): the image was not looked up")]
        repository, _, tag = image.rpartition(":")
        match = _ECR_IMAGE.match(repository)
        if not match:
            return [
                not_checked(
                    "image",
                    image,
                    f"{repository.split('/')[0]} is not an ECR registry: the image's existence was not checked",
                )
            ]
        account, region, name = match.groups()
        ecr = self.client("ecr", region=region)
        try:
            ecr.describe_images(registryId=account, repositoryName=name, imageIds=[{"imageTag": tag}])
        except Exception as e:
            code = error_code(e)
            if code == "ImageNotFoundException":
                return [
                    failed(
                        "image",
                        image,
                        f"no image tagged {tag} in ECR repository {name}: the new tasks would stop with "
                        "CannotPullContainerError and the deployment roll back",
                        f"push it (docker push {image}) or give an existing tag: aws ecr describe-images "
                        f"--repository-name {name}",
                    )
                ]
            if code == "RepositoryNotFoundException":
                return [
                    failed(
                        "image",
                        image,
                        f"ECR repository {name} does not exist in {account}/{region}",
                        "fix ecs_service_image_repository in the inventory, or create the repository",
                    )
                ]
            raise
        return [ok("image", image, "the image exists in ECR")]

    def secrets(self) -> list[Finding]:
        """Each secret and parameter the task definition references exists (a name or partial ARN is resolved to
        the full ARN, as IAM matches it); what IAM cannot simulate about reading it is said."""
        findings = []
        for reference in self.p.get("secrets") or []:
            if secret_service(reference) == "ssm":
                findings += self._parameter(reference)
                continue
            secret_id = ":".join(reference.split(":")[:7]) if reference.startswith("arn:") else reference
            try:
                try:
                    secret = self.client("secretsmanager").describe_secret(SecretId=secret_id)
                except Exception as e:
                    if error_code(e) != "ResourceNotFoundException" or ":" not in secret_id:
                        raise
                    # A partial ARN (without the random suffix) that Secrets Manager did not match: by its name.
                    secret = self.client("secretsmanager").describe_secret(SecretId=secret_id.split(":")[6])
            except Exception as e:
                if error_code(e) != "ResourceNotFoundException":
                    raise
                findings.append(
                    failed(
                        "secrets",
                        reference,
                        "no such secret: ECS cannot start the tasks (ResourceInitializationError: unable to pull "
                        "secrets)",
                        "create it (aws secretsmanager create-secret) or fix ecs_service_secrets in the inventory",
                    )
                )
                continue
            if secret.get("DeletedDate"):
                findings.append(
                    failed(
                        "secrets",
                        reference,
                        f"the secret is scheduled for deletion ({secret['DeletedDate']}): it cannot be read",
                        f"aws secretsmanager restore-secret --secret-id {secret['ARN']}",
                    )
                )
                continue
            self.secret_arns[reference] = secret["ARN"]
            findings.append(ok("secrets", reference, f"exists ({secret['ARN']})"))
            notes = []
            if secret.get("KmsKeyId") and not str(secret["KmsKeyId"]).startswith("alias/aws/"):
                notes.append(
                    f"it is encrypted with KMS key {secret['KmsKeyId']}, whose key policy must let the "
                    "task execution role kms:Decrypt"
                )
            try:
                policy = self.client("secretsmanager").get_resource_policy(SecretId=secret["ARN"]).get("ResourcePolicy")
            except Exception as e:
                policy = None
                notes.append(f"its resource policy could not be read ({error_code(e) or e})")
            if policy:
                notes.append("it has a resource policy (a Deny there would refuse the execution role)")
            if notes:
                findings.append(
                    not_checked(
                        "secrets",
                        reference,
                        "; ".join(notes) + ": the IAM simulator does not evaluate these for a role",
                    )
                )
        return findings

    def _parameter(self, reference: str) -> list[Finding]:
        name = reference.split(":parameter", 1)[-1] if reference.startswith("arn:") else reference
        found = (
            self.client("ssm")
            .describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])
            .get("Parameters", [])
        )
        if not found:
            return [
                failed(
                    "secrets",
                    reference,
                    "no such SSM parameter: ECS cannot start the tasks",
                    "create it (aws ssm put-parameter --type SecureString) or fix ecs_service_secrets",
                )
            ]
        return [ok("secrets", reference, "the parameter exists")]

    # --- network ----------------------------------------------------------------------------------------

    def _route_tables(self, vpc_id: str) -> tuple[dict, dict | None]:
        tables = [
            t
            for page in self.client("ec2")
            .get_paginator("describe_route_tables")
            .paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
            for t in page["RouteTables"]
        ]
        by_subnet, main = {}, None
        for table in tables:
            for association in table.get("Associations", []):
                if association.get("Main"):
                    main = table
                elif association.get("SubnetId"):
                    by_subnet[association["SubnetId"]] = table
        return by_subnet, main

    def _subnets(self) -> dict[str, list[str]]:
        """Who runs where: the tasks (and the migration task) in the service's subnets, the hooks in theirs."""
        used: dict[str, list[str]] = {}
        service = self.facts.service or {}
        task_sets = [t for t in service.get("taskSets", []) if t.get("status") == "PRIMARY"]
        vpc = ((task_sets[0] if task_sets else service).get("networkConfiguration") or {}).get(
            "awsvpcConfiguration"
        ) or {}
        for subnet in vpc.get("subnets", []):
            used.setdefault(subnet, []).append("tasks")
        for config in self.facts.functions.values():
            for subnet in (config.get("VpcConfig") or {}).get("SubnetIds", []):
                if "hooks" not in used.get(subnet, []):
                    used.setdefault(subnet, []).append("hooks")
        return used

    def network(self) -> list[Finding]:
        used = self._subnets()
        if not used:
            return [not_checked("network", "-", "neither the service's nor the hooks' subnets could be read")]
        ec2 = self.client("ec2")
        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=sorted(used))["Subnets"]}
        vpc_id = next(iter(subnets.values()))["VpcId"]
        by_subnet, main = self._route_tables(vpc_id)
        nats = {
            n["NatGatewayId"]: n
            for page in ec2.get_paginator("describe_nat_gateways").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for n in page["NatGateways"]
        }
        endpoints = [
            e
            for page in ec2.get_paginator("describe_vpc_endpoints").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for e in page["VpcEndpoints"]
            if e.get("State", "").lower() == "available"
        ]
        findings = []
        for subnet_id, users in sorted(used.items()):
            table = by_subnet.get(subnet_id) or main or {}
            nat = self._nat_route(table, nats)
            self.nat_ips[subnet_id] = nat[1] if nat else None
            who = " and ".join(users)
            if nat:
                findings.append(ok("network", subnet_id, f"the {who} reach AWS through NAT gateway {nat[0]}"))
                continue
            needed = {}
            if "tasks" in users:
                needed.update(LOGS_ENDPOINT)
                if _ECR_IMAGE.match(self.image_name().rpartition(":")[0]):
                    needed.update(TASK_ENDPOINTS)
                held_by = {secret_service(reference) for reference in self.p.get("secrets") or []}
                needed.update({k: v for k, v in SECRET_ENDPOINTS.items() if k in held_by})
            if "hooks" in users:
                # Under the ECS controller the hooks answer ECS in their return value: no CodeDeploy call.
                needed.update(
                    {k: v for k, v in HOOK_ENDPOINTS.items() if self.controller == "codedeploy" or k != "codedeploy"}
                )
            missing = [
                f"{service} ({why})"
                for service, why in needed.items()
                if not self._endpoint_serves(endpoints, service, subnets[subnet_id], table)
            ]
            image = self.image_name()
            non_ecr = "tasks" in users and image and not _ECR_IMAGE.match(image.rpartition(":")[0])
            if non_ecr:
                missing.append("the image's registry (not ECR: only a NAT gateway reaches it)")
            if missing:
                findings.append(
                    failed(
                        "network",
                        subnet_id,
                        f"the {who} in this subnet have no route to the internet (no 0.0.0.0/0 to an available NAT "
                        f"gateway in route table {table.get('RouteTableId', '?')}) and no VPC endpoint for: "
                        + "; ".join(missing)
                        + (": images do not pull, secrets and logs fail" if "tasks" in users else "")
                        + (": a hook cannot report, and CodeDeploy waits for its timeout" if "hooks" in users else ""),
                        "add a 0.0.0.0/0 route to a NAT gateway in the subnet's route table, or the VPC endpoints",
                    )
                )
            else:
                findings.append(ok("network", subnet_id, f"the {who} reach AWS through VPC endpoints"))
        return findings

    @staticmethod
    def _nat_route(table: dict, nats: dict) -> tuple[str, str | None] | None:
        for route in table.get("Routes", []):
            nat = nats.get(route.get("NatGatewayId", ""))
            if route.get("DestinationCidrBlock") == "0.0.0.0/0" and nat and nat.get("State") == "available":
                if route.get("State", "active") != "active":
                    continue
                address = next(
                    (a.get("PublicIp") for a in nat.get("NatGatewayAddresses", []) if a.get("PublicIp")), None
                )
                return nat["NatGatewayId"], address
        return None

    def _endpoint_serves(self, endpoints: list, service: str, subnet: dict, table: dict) -> bool:
        names = endpoint_service_names(self.facts.partition, self.region, service)
        for endpoint in endpoints:
            if endpoint.get("ServiceName") not in names:
                continue
            if endpoint.get("VpcEndpointType") == "Gateway":
                if table.get("RouteTableId") in endpoint.get("RouteTableIds", []):
                    return True
            elif endpoint.get("PrivateDnsEnabled"):
                # An interface endpoint answers in the availability zones of its subnets; private DNS makes the
                # service's usual name resolve to it.
                zones = (
                    {
                        s["AvailabilityZone"]
                        for s in self.client("ec2").describe_subnets(SubnetIds=endpoint.get("SubnetIds", []))["Subnets"]
                    }
                    if endpoint.get("SubnetIds")
                    else set()
                )
                if subnet["AvailabilityZone"] in zones:
                    return True
        return False

    # --- the listeners the hooks request ----------------------------------------------------------------

    def load_balancer(self) -> list[Finding]:
        elbv2 = self.client("elbv2")
        try:
            balancer = elbv2.describe_load_balancers(Names=[self.names["load_balancer"]])["LoadBalancers"][0]
        except Exception as e:
            if error_code(e) != "LoadBalancerNotFound":
                raise
            return [
                failed(
                    "reachability",
                    self.names["load_balancer"],
                    "the load balancer does not exist",
                    f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                )
            ]
        self.facts.load_balancer = balancer
        return []

    def _listeners(self) -> dict[str, dict]:
        """The production and test listeners, as the deployment group names them (or, under the ECS controller,
        the listeners of the service's production and test listener rules)."""
        if self.controller == "ecs":
            return self._rule_listeners()
        if self.facts.listeners or not self.facts.group:
            return self.facts.listeners
        pairs = (self.facts.group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        routes = {
            "production": (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns", []),
            "test": (pairs[0].get("testTrafficRoute") or {}).get("listenerArns", []),
        }
        arns = [a for listeners in routes.values() for a in listeners]
        if not arns:
            return {}
        found = {x["ListenerArn"]: x for x in self.client("elbv2").describe_listeners(ListenerArns=arns)["Listeners"]}
        self.facts.listeners = {kind: found[a[0]] for kind, a in routes.items() if a and a[0] in found}
        return self.facts.listeners

    def _rule_listeners(self) -> dict[str, dict]:
        if self.facts.listeners or not self.facts.service:
            return self.facts.listeners
        balancers = self.facts.service.get("loadBalancers") or [{}]
        advanced = balancers[0].get("advancedConfiguration") or {}
        # A rule's ARN is its listener's with /<rule id> added (listener-rule/app/<lb>/<id>/<listener>/<rule>).
        routes = {
            kind: advanced[key].replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]
            for kind, key in (("production", "productionListenerRule"), ("test", "testListenerRule"))
            if advanced.get(key)
        }
        if not routes:
            return {}
        found = {
            x["ListenerArn"]: x
            for x in self.client("elbv2").describe_listeners(ListenerArns=sorted(set(routes.values())))["Listeners"]
        }
        self.facts.listeners = {kind: found[arn] for kind, arn in routes.items() if arn in found}
        return self.facts.listeners

    def reachability(self) -> list[Finding]:
        """The hooks' requests reach the test listener (test-traffic checks) and the production listener (the
        production probe): from their subnets and security group, following the load balancer's scheme."""
        balancer, listeners = self.facts.load_balancer, self._listeners()
        functions = {
            "test": self.facts.functions.get("AfterAllowTestTraffic"),
            "production": self.facts.functions.get("AfterAllowTraffic"),
        }
        if balancer is None or not listeners:
            return [not_checked("reachability", self.names["load_balancer"], "the listeners could not be read")]
        ec2 = self.client("ec2")
        groups = {
            g["GroupId"]: g
            for g in ec2.describe_security_groups(
                GroupIds=sorted(
                    set(balancer.get("SecurityGroups", []))
                    | {
                        gid
                        for config in functions.values()
                        if config
                        for gid in (config.get("VpcConfig") or {}).get("SecurityGroupIds", [])
                    }
                )
            )["SecurityGroups"]
        }
        findings = []
        scheme = balancer.get("Scheme", "internet-facing")
        for kind, listener in sorted(listeners.items()):
            config = functions.get(kind)
            subject = f"{kind} listener :{listener['Port']}"
            if not config:
                findings.append(
                    not_checked(
                        "reachability", subject, f"the hook that requests the {kind} listener could not be read"
                    )
                )
                continue
            vpc = config.get("VpcConfig") or {}
            if not vpc.get("SubnetIds"):
                findings.append(not_checked("reachability", subject, f"{config['FunctionName']} runs outside a VPC"))
                continue
            findings.append(self._reaches(subject, listener, scheme, balancer, vpc, groups))
        return findings

    def _reaches(self, subject, listener, scheme, balancer, vpc, groups) -> Finding:  # noqa: PLR0917
        port = int(listener["Port"])
        hook_groups = set(vpc.get("SecurityGroupIds", []))
        egress = [r for g in hook_groups for r in groups.get(g, {}).get("IpPermissionsEgress", [])]
        if not any(_covers(r, port) and _rule_cidrs(r, "0.0.0.0/0") for r in egress) and not any(
            _covers(r, port) and set(_rule_groups(r)) & set(balancer.get("SecurityGroups", [])) for r in egress
        ):
            return failed(
                "reachability",
                subject,
                f"the hooks' security groups {sorted(hook_groups)} allow no outbound TCP {port}",
                f"allow outbound TCP {port} to the load balancer",
            )
        ingress = [r for g in balancer.get("SecurityGroups", []) for r in groups.get(g, {}).get("IpPermissions", [])]
        if scheme == "internet-facing":
            # From the VPC, the public DNS name resolves to public addresses: the request leaves through the
            # subnet's NAT gateway and arrives from its Elastic IP; a security-group reference cannot match it.
            found = {s: self.nat_ips.get(s) for s in vpc["SubnetIds"]}
            missing = [s for s, ip in found.items() if ip is None]
            if missing:
                return failed(
                    "reachability",
                    subject,
                    f"the load balancer is internet-facing, and the hooks' "
                    f"subnets {missing} have no NAT gateway: their requests cannot leave the VPC",
                    "add a NAT route to those subnets, or make the load balancer internal",
                )
            addresses = sorted({ip for ip in found.values() if ip})
            denied = [ip for ip in addresses if not _admits(ingress, port, ip, set())]
            if denied:
                return failed(
                    "reachability",
                    subject,
                    f"the load balancer is internet-facing: the hooks' requests arrive from the NAT gateways' public "
                    f"addresses {denied}, which its security group does not admit on TCP {port} (a reference to the "
                    "hooks' security group matches only private addresses); the hook would time out",
                    f"admit {', '.join(ip + '/32' for ip in denied)} on TCP {port}: reprovision "
                    "(playbooks/provision.yml admits the NAT addresses)",
                )
            return ok("reachability", subject, f"the hooks reach it through NAT ({', '.join(addresses)})")
        cidrs = [s["CidrBlock"] for s in self.client("ec2").describe_subnets(SubnetIds=vpc["SubnetIds"])["Subnets"]]
        denied = [c for c in cidrs if not _admits(ingress, port, c, hook_groups)]
        if denied:
            return failed(
                "reachability",
                subject,
                f"the internal load balancer's security group does not admit "
                f"the hooks (subnets {denied}, groups {sorted(hook_groups)}) on TCP {port}",
                f"admit the hooks' security group on TCP {port}",
            )
        return ok("reachability", subject, "the hooks reach it inside the VPC")

    # --- TLS ----------------------------------------------------------------------------------------------

    def tls(self) -> list[Finding]:
        listener = self._listeners().get("production")
        if not listener or listener.get("Protocol") != "HTTPS":
            return []
        config = self.facts.functions.get("AfterAllowTraffic") or {}
        hostname = ((config.get("Environment") or {}).get("Variables") or {}).get("PRODUCTION_HOSTNAME", "")
        subject = f"production listener :{listener['Port']}"
        if not hostname:
            return [
                failed(
                    "tls",
                    subject,
                    "the production listener is HTTPS but the production probe has no "
                    "hostname to verify the certificate against",
                    "set load_balancer_public_hostname",
                )
            ]
        arn = (listener.get("Certificates") or [{}])[0].get("CertificateArn")
        try:
            certificate = self.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception as e:
            if error_code(e) != "ResourceNotFoundException":
                raise
            return [failed("tls", subject, f"certificate {arn} does not exist", "set load_balancer_certificate_arn")]
        names = [certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])]
        problems = []
        if certificate.get("Status") != "ISSUED":
            problems.append(f"it is {certificate.get('Status')}, not ISSUED")
        not_after = certificate.get("NotAfter")
        if isinstance(not_after, datetime.datetime) and not_after < datetime.datetime.now(not_after.tzinfo):
            problems.append(f"it expired {not_after:%Y-%m-%d}")
        if not any(_tls_name_matches(n, hostname) for n in names if n):
            problems.append(f"it is for {sorted(set(names))}, not {hostname}")
        if problems:
            return [
                failed(
                    "tls",
                    subject,
                    f"the production probe checks {hostname}, but certificate {arn}: "
                    + "; ".join(problems)
                    + ": the AfterAllowTraffic hook would fail and roll back",
                    "issue a certificate for that name in ACM and set load_balancer_certificate_arn, or fix "
                    "load_balancer_public_hostname",
                )
            ]
        return [ok("tls", subject, f"certificate covers {hostname}, ISSUED")]

    # --- IAM ----------------------------------------------------------------------------------------------

    def iam_roles(self) -> list[Finding]:
        """Each role allows what the model says it does (module_utils/iam/policies.py, the statements the IAM
        issue proved necessary), on this deployment's resources: the secrets by the full ARNs found above."""
        secrets = self.p.get("secrets") or []
        roles = role_policies(
            self.names,
            partition=self.facts.partition,
            account=self.facts.account,
            region=self.region,
            path=self.p.get("iam_path") or "/",
            secret_arns=sorted(set(self.secret_arns.values())),
            ssm_parameter_arns=[r for r in secrets if ":ssm:" in r],
            kms_key_arns=self.p.get("kms_key_arns") or [],
            image_repository=self.image_name().rpartition(":")[0] or self.p.get("image_repository") or "",
            task_statements=self.p.get("task_statements") or [],
            controller=self.controller,
        )
        findings = []
        path = self.p.get("iam_path") or "/"
        for key in sorted(roles):
            role = roles[key]
            arn = f"arn:{self.facts.partition}:iam::{self.facts.account}:role{path}{role['name']}"
            fix = f"reprovision its policy: playbooks/provision.yml -i inventories/{self.names['env']}"
            findings += self._simulate(f"role {role['name']}", arn, role["statements"], fix)
        return findings

    def iam_caller(self) -> list[Finding]:
        """The caller (this run's credential) allows what its access does (docs/iam.md, "Operators")."""
        access = self.p.get("access") or ""
        if not access:
            return []
        policies = operator_policies(
            self.names,
            partition=self.facts.partition,
            account=self.facts.account,
            region=self.region,
            path=self.p.get("iam_path") or "/",
            controller=self.controller,
        )
        attached = {arn.rsplit("/", 1)[-1] for arn in policies["attach"].get(access, [])}
        statements = [s for p in policies["policies"].values() if p["name"] in attached for s in p["statements"]]
        suffix = f"-{access}"
        principal, subject = self.caller_principal()
        if principal is None:
            return [not_checked("iam", self.facts.caller_arn, "the caller is neither an IAM user nor a role session")]
        # A user's own ARN is in its policy as user/${aws:username}: the simulator is given the name. (A role
        # session's role may not be simulated by the deploy policy: the refusal is reported as not checked.)
        return self._simulate(
            f"caller {subject}",
            principal,
            statements,
            variables={"aws:username": subject} if ":user/" in principal else {},
            fix=f"attach the environment's {access} policy ({self.names['environment']}{suffix}): "
            "playbooks/operator_access.yml, as an administrator",
            missing=f"the caller's role is not {principal} (a role with a path): its policies were not simulated",
        )

    def caller_principal(self) -> tuple[str | None, str]:
        """The IAM principal of the caller: a user's ARN as it is; a role session's role
        (`arn:aws:sts::<account>:assumed-role/<role>/<session>` -> `arn:aws:iam::<account>:role/<role>`: STS
        does not say the role's path, so a role with one is reported as not simulated)."""
        arn = self.facts.caller_arn
        if ":user/" in arn:
            return arn, arn.rsplit("/", 1)[-1]
        if ":assumed-role/" in arn:
            role = arn.split(":assumed-role/", 1)[1].split("/")[0]
            return f"arn:{self.facts.partition}:iam::{self.facts.account}:role/{role}", f"role {role}"
        return None, arn

    def _simulate(
        self,
        subject: str,
        principal: str,
        statements: list[dict],
        fix: str,
        *,
        variables: dict | None = None,
        missing: str = "",
    ) -> list[Finding]:
        """Each statement's actions on its resources, simulated for the principal: a denial means the principal
        lacks what the model says it uses (a statement removed or changed, a policy detached)."""
        iam = self.client("iam")
        denied = []
        variables = variables or {}
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for key, value in variables.items():
                resources = [r.replace("${" + key + "}", value) for r in resources]
            context = _context_entries(statement.get("Condition") or {})
            context += [
                {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                for key, value in variables.items()
            ]
            try:
                pages = iam.get_paginator("simulate_principal_policy").paginate(
                    PolicySourceArn=principal, ActionNames=actions, ResourceArns=resources, ContextEntries=context
                )
                results = [r for page in pages for r in page["EvaluationResults"]]
            except Exception as e:
                if error_code(e) == "NoSuchEntity":
                    if missing:
                        return [not_checked("iam", subject, missing)]
                    return [failed("iam", subject, "does not exist", fix)]
                if error_code(e) in ("AccessDenied", "AccessDeniedException"):
                    return [not_checked("iam", subject, f"iam:SimulatePrincipalPolicy was refused: {e}")]
                raise
            for result in results:
                if result["EvalDecision"] != "allowed":
                    denied.append(
                        f"{result['EvalActionName']} on {result['EvalResourceName']} "
                        f"({statement.get('Sid', '')}: {result['EvalDecision']})"
                    )
        if denied:
            return [
                failed(
                    "iam",
                    subject,
                    f"{len(denied)} needed permission(s) denied: "
                    + "; ".join(denied[:8])
                    + (" ..." if len(denied) > 8 else ""),
                    fix,
                )
            ]
        count = sum(len(s["Action"]) if isinstance(s["Action"], list) else 1 for s in statements)
        return [ok("iam", subject, f"allowed every action it uses ({count} in {len(statements)} statements)")]

    # --- quotas -------------------------------------------------------------------------------------------

    def quotas(self) -> list[Finding]:
        """The tasks a deployment doubles fit the account's Fargate vCPU quota (the serving task definition's CPU
        and the service's desired count: both task sets run until the original one is terminated)."""
        definition, service = self.facts.task_definition or {}, self.facts.service or {}
        if not definition.get("cpu") or not service.get("desiredCount"):
            return []
        needed = 2 * int(definition["cpu"]) / 1024 * int(service["desiredCount"])
        code, quota_code = FARGATE_VCPU_QUOTA
        try:
            quota = self.client("service-quotas").get_service_quota(ServiceCode=code, QuotaCode=quota_code)["Quota"]
        except Exception as e:
            return [not_checked("quotas", "Fargate vCPU", f"Service Quotas did not answer ({error_code(e) or e})")]
        value = float(quota.get("Value", 0))
        subject = f"Fargate vCPU ({quota.get('QuotaName', quota_code)})"
        if needed > value:
            return [
                failed(
                    "quotas",
                    subject,
                    f"a deployment runs both task sets: {needed:g} vCPU, above the account's quota of {value:g}",
                    "request a quota increase (Service Quotas), or lower the desired count or the task's CPU",
                )
            ]
        return [
            ok(
                "quotas",
                subject,
                f"{needed:g} vCPU during a deployment, quota {value:g} (the account's other tasks share it: its "
                "usage is in CloudWatch, AWS/Usage)",
            )
        ]


def _covers(rule: dict, port: int) -> bool:
    if rule.get("IpProtocol") == "-1":
        return True
    if rule.get("IpProtocol") not in ("tcp", "6"):
        return False
    return rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535)


def _rule_cidrs(rule: dict, address: str) -> bool:
    ip = ipaddress.ip_network(address, strict=False)
    for r in rule.get("IpRanges", []):
        network = ipaddress.ip_network(r["CidrIp"], strict=False)
        if ip.version == network.version and ip.subnet_of(network):  # type: ignore[arg-type]
            return True
    return False


def _rule_groups(rule: dict) -> list[str]:
    return [p["GroupId"] for p in rule.get("UserIdGroupPairs", []) if p.get("GroupId")]


def _admits(rules: list[dict], port: int, address: str, groups: set[str]) -> bool:
    return any(_covers(r, port) and (_rule_cidrs(r, address) or set(_rule_groups(r)) & groups) for r in rules)


def _tls_name_matches(pattern: str, hostname: str) -> bool:
    """A certificate name covers a hostname: exactly, or a wildcard for exactly one leftmost label (RFC 6125)."""
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


def _context_entries(condition: dict) -> list[dict]:
    """The ContextEntries a statement's condition needs: the simulator otherwise leaves a conditioned statement
    unmatched (MissingContextValues) and reports a false denial. The values are the condition's own, so this
    asks "is what the deployment does, with these values, allowed"."""
    entries = {}
    for operator, keys in condition.items():
        for key, given in keys.items():
            values = given if isinstance(given, list) else [given]
            kind = "boolean" if operator == "Bool" else "string"
            entries[key] = {
                "ContextKeyName": key,
                "ContextKeyValues": [str(v) for v in values],
                "ContextKeyType": kind + ("List" if len(values) > 1 else ""),
            }
    return list(entries.values())


def summary(findings: list[Finding]) -> dict:
    counts = {status: sum(f.status == status for f in findings) for status in (OK, FAILED, NOT_CHECKED)}
    return {"counts": counts, "findings": [asdict(f) for f in findings], "lines": [f.line() for f in findings]}

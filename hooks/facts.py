"""What a hook checks, learnt from the deployment itself rather than from configuration.

CodeDeploy (`load`): GetDeployment -> the application and group; GetDeploymentGroup -> the ECS service, the target
group pair, the production and test listeners and the alarms; ListDeploymentTargets + BatchGetDeploymentTargets ->
the replacement (Green) task set's id, once Install created it; DescribeServices -> that task set: the task
definition, the container and port its target group routes to, its network, platform version and capacity
providers; DescribeTaskDefinition -> the image and APP_VERSION.

Before Install (BeforeInstall) the replacement does not exist yet, and only the AppSpec says what will be installed:
the task definition, the container and port (LoadBalancerInfo), the network, platform version and capacity
providers. Then, and only then, the AppSpec is read: GetDeployment never returns its content (its API reference:
the content "is always null"), so it comes from GetApplicationRevision by the revision's sha256. A deployment whose
AppSpec cannot be read that way (created without a sha256, or in YAML, which the hooks do not parse) has no task
definition in its facts before Install, and `appspec_problem` says why: the check decides what that means.

ECS-native (`load_ecs`): the event's target service revision -> DescribeServiceRevisions -> the task definition,
container and port, network, the target group pair (the revision's and its alternate), the production and test
listener rules, and the target group the green revision really uses (resolvedConfiguration); DescribeServices ->
the alarms that roll the deployment back. The same DeploymentFacts either way: the checks do not know which
controller runs them. DescribeServiceDeployments -> the service deployment itself (`service_deployment`): whether
it is the service's first, and the status of the other hooks of its stage (`wait_for_hooks`).

Imports hooks.common only: the adapters (hooks/codedeploy_event.py, hooks/ecs_event.py) tell a Hook how to load
these facts, and the checks read them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field

from hooks.common import CheckFailed, Hook, Pending, client, env_str, log

ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]

# registry/path/name[:tag][@sha256:digest], as Docker's reference grammar has it (lower-case path).
IMAGE_REFERENCE = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::\d+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


@dataclass
class DeploymentFacts:
    deployment_id: str
    application_name: str
    deployment_group_name: str
    task_definition_arn: str
    container_name: str
    container_port: int
    cluster: str | None = None
    service: str | None = None
    target_group_names: list[str] = field(default_factory=list)
    prod_listener_arns: list[str] = field(default_factory=list)
    test_listener_arns: list[str] = field(default_factory=list)
    alarm_names: list[str] = field(default_factory=list)
    network_configuration: dict | None = None
    platform_version: str | None = None
    capacity_provider_strategy: list | None = None
    task_definition: dict = field(default_factory=dict)
    # Where the task definition, container and port come from, for the messages that name them.
    source: str = "the AppSpec"
    # CodeDeploy: the replacement (Green) task set, once Install created it; before Install, why the AppSpec could
    # not be read when it could not (then nothing says which task definition will be installed).
    replacement_task_set_id: str | None = None
    appspec_problem: str | None = None
    # "codedeploy" or "ecs"; for ECS, also the service deployment, the revisions and the listener rules.
    controller: str = "codedeploy"
    service_deployment_arn: str | None = None
    target_revision_arn: str | None = None
    green_target_group_arn: str | None = None
    listener_rule_arns: list[str] = field(default_factory=list)

    def require_task_definition(self) -> str:
        """The task definition the deployment installs, or CheckFailed when nothing names it (before Install, with an
        AppSpec the hooks cannot read)."""
        if not self.task_definition_arn:
            raise CheckFailed(
                f"deployment {self.deployment_id} names no task definition the hooks can read: "
                f"{self.appspec_problem or 'nothing names one yet'}"
            )
        return self.task_definition_arn

    @property
    def container(self) -> dict:
        self.require_task_definition()
        for container in self.task_definition.get("containerDefinitions", []):
            if container.get("name") == self.container_name:
                return container
        raise CheckFailed(
            f"task definition {self.task_definition_arn} has no container {self.container_name!r} "
            f"(the container {self.source} routes traffic to)"
        )

    @property
    def image(self) -> str:
        return self.container.get("image", "")

    @property
    def version(self) -> str | None:
        """The APP_VERSION the new tasks report on /health: how a probe tells green from blue."""
        for variable in self.container.get("environment", []):
            if variable.get("name") == "APP_VERSION":
                return variable.get("value")
        return None


def check_image(image: str) -> None:
    match = IMAGE_REFERENCE.match(image or "")
    if not match:
        raise CheckFailed(f"image reference {image!r} is not well formed (registry/repository:tag or @sha256:digest)")
    if not match.group("tag") and not match.group("digest"):
        raise CheckFailed(f"image {image!r} has neither a tag nor a digest: deploy an immutable reference")
    allow_latest = (env_str("ALLOW_LATEST_TAG", "false") or "false").lower() == "true"
    if match.group("tag") == "latest" and not match.group("digest") and not allow_latest:
        raise CheckFailed(f"image {image!r} uses the moving tag 'latest': a rollback could not return to it")


def check_container(facts: DeploymentFacts) -> dict:
    """The container traffic is routed to exists in the task definition, maps the port, and runs an immutable,
    well-formed image reference. Returns the container."""
    container = facts.container
    ports = {mapping.get("containerPort") for mapping in container.get("portMappings", [])}
    if facts.container_port not in ports:
        raise CheckFailed(
            f"container {facts.container_name!r} maps ports {sorted(p for p in ports if p)}, not the ContainerPort "
            f"{facts.container_port} of {facts.source}"
        )
    check_image(container.get("image", ""))
    return container


# The revision types whose content is an AppSpec, and the member that holds it (String: the deprecated RawString).
_APPSPEC_MEMBERS = {"AppSpecContent": "appSpecContent", "String": "string"}


def _appspec_target(content: str) -> dict:
    try:
        appspec = json.loads(content)
    except ValueError:
        raise CheckFailed(
            "the deployment's AppSpec is not JSON (the hooks do not parse YAML): render it as JSON, as the "
            "ecs_appspec module does"
        ) from None
    for resource in (appspec.get("Resources") if isinstance(appspec, dict) else None) or []:
        target = resource.get("TargetService") or {}
        if target.get("Type") == "AWS::ECS::Service":
            return target.get("Properties") or {}
    raise CheckFailed("the deployment's AppSpec has no TargetService of Type AWS::ECS::Service")


def appspec_content(info: dict) -> str:
    """The deployment's AppSpec: from the response where it has it, else GetApplicationRevision by sha256. Raises
    CheckFailed when the deployment gives no way to read it (no sha256) or the application has no such revision;
    any other error (a denied call) is raised as it is."""
    revision = info.get("revision") or {}
    member = _APPSPEC_MEMBERS.get(revision.get("revisionType", ""))
    content = (revision.get(member) or {}) if member else {}
    if content.get("content"):
        return content["content"]
    digest = content.get("sha256")
    if not member or not digest:
        raise CheckFailed(
            f"deployment {info['deploymentId']} has no AppSpecContent revision with a sha256, and GetDeployment "
            "never returns the AppSpec itself: create ECS deployments with revision.appSpecContent {content, "
            "sha256} (the bluegreen_deployment module does)"
        )
    codedeploy = client("codedeploy")
    try:
        found = codedeploy.get_application_revision(
            applicationName=info["applicationName"],
            revision={"revisionType": revision["revisionType"], member: {"sha256": digest}},
        )
    except codedeploy.exceptions.RevisionDoesNotExistException:
        raise CheckFailed(
            f"application {info['applicationName']} has no revision with sha256 {digest} "
            f"(the AppSpec of deployment {info['deploymentId']})"
        ) from None
    text = ((found.get("revision") or {}).get(member) or {}).get("content")
    if not text:
        raise CheckFailed(f"GetApplicationRevision returned no AppSpec content for sha256 {digest}")
    return text


def _network(awsvpc: dict | None) -> dict | None:
    """ECS's awsvpcConfiguration in the AppSpec's spelling (the facts keep the AppSpec's)."""
    if not awsvpc:
        return None
    return {
        "Subnets": awsvpc.get("subnets", []),
        "SecurityGroups": awsvpc.get("securityGroups", []),
        "AssignPublicIp": awsvpc.get("assignPublicIp", "DISABLED"),
    }


def _capacity_providers(strategy: list | None) -> list | None:
    return [
        {"CapacityProvider": s["capacityProvider"], "Weight": s.get("weight", 1), "Base": s.get("base", 0)}
        for s in strategy or []
    ] or None


def _green_task_set_id(deployment_id: str) -> str | None:
    """The id of the deployment's replacement (Green) task set, as BatchGetDeploymentTargets names it: there once
    Install created it, and unchanged for the rest of the deployment."""
    codedeploy = client("codedeploy")
    target_ids = (
        codedeploy.get_paginator("list_deployment_targets")
        .paginate(deploymentId=deployment_id)
        .build_full_result()
        .get("targetIds", [])
    )
    for start in range(0, len(target_ids), 25):
        targets = codedeploy.batch_get_deployment_targets(
            deploymentId=deployment_id, targetIds=target_ids[start : start + 25]
        )
        for target in targets.get("deploymentTargets", []):
            for task_set in (target.get("ecsTarget") or {}).get("taskSetsInfo") or []:
                if task_set.get("taskSetLabel") == "Green" and task_set.get("identifer"):
                    return task_set["identifer"]  # sic: the API's spelling
    return None


def replacement_task_set(facts: DeploymentFacts) -> dict:
    """The replacement task set as ECS describes it now (its task definition, counts, stability, load balancer)."""
    services = client("ecs").describe_services(cluster=facts.cluster, services=[facts.service]).get("services", [])
    task_set = next(
        (
            ts
            for ts in (services[0] if services else {}).get("taskSets", [])
            if facts.replacement_task_set_id in (ts.get("id"), ts.get("taskSetArn"))
        ),
        None,
    )
    if task_set is None:
        raise CheckFailed(
            f"ECS service {facts.service} has no task set {facts.replacement_task_set_id} (the deployment's "
            "replacement)"
        )
    return task_set


def _from_replacement(facts: DeploymentFacts, task_set: dict) -> None:
    """What to check, from the task set ECS runs for the deployment (CodeDeploy made it from the AppSpec)."""
    balancer = (task_set.get("loadBalancers") or [{}])[0]
    facts.source = f"the replacement task set {task_set.get('id')}"
    facts.task_definition_arn = task_set.get("taskDefinition", "")
    facts.container_name = balancer.get("containerName", "")
    facts.container_port = int(balancer.get("containerPort") or 0)
    facts.network_configuration = _network((task_set.get("networkConfiguration") or {}).get("awsvpcConfiguration"))
    facts.platform_version = task_set.get("platformVersion")
    facts.capacity_provider_strategy = _capacity_providers(task_set.get("capacityProviderStrategy"))


def _from_appspec(facts: DeploymentFacts, info: dict) -> None:
    """Before Install: what the AppSpec says will be installed, when it can be read."""
    try:
        properties = _appspec_target(appspec_content(info))
    except CheckFailed as unreadable:
        facts.appspec_problem = str(unreadable)
        log(logging.WARNING, "the AppSpec cannot be read", deployment_id=facts.deployment_id, reason=str(unreadable))
        return
    balancer = properties.get("LoadBalancerInfo") or {}
    facts.task_definition_arn = properties.get("TaskDefinition", "")
    facts.container_name = balancer.get("ContainerName", "")
    facts.container_port = int(balancer.get("ContainerPort") or 0)
    facts.network_configuration = (properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration")
    facts.platform_version = properties.get("PlatformVersion")
    facts.capacity_provider_strategy = properties.get("CapacityProviderStrategy")


def load(deployment_id: str, with_task_definition: bool = True) -> DeploymentFacts:
    codedeploy = client("codedeploy")
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    facts = DeploymentFacts(
        deployment_id=deployment_id,
        application_name=info["applicationName"],
        deployment_group_name=info["deploymentGroupName"],
        task_definition_arn="",
        container_name="",
        container_port=0,
    )
    group = codedeploy.get_deployment_group(
        applicationName=facts.application_name, deploymentGroupName=facts.deployment_group_name
    )["deploymentGroupInfo"]
    services = group.get("ecsServices") or [{}]
    facts.cluster, facts.service = services[0].get("clusterName"), services[0].get("serviceName")
    pairs = (group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
    facts.target_group_names = [tg["name"] for tg in pairs[0].get("targetGroups") or []]
    facts.prod_listener_arns = list((pairs[0].get("prodTrafficRoute") or {}).get("listenerArns") or [])
    facts.test_listener_arns = list((pairs[0].get("testTrafficRoute") or {}).get("listenerArns") or [])
    alarms = group.get("alarmConfiguration") or {}
    if alarms.get("enabled"):
        facts.alarm_names = [alarm["name"] for alarm in alarms.get("alarms") or []]
    facts.replacement_task_set_id = _green_task_set_id(deployment_id)
    if facts.replacement_task_set_id:
        _from_replacement(facts, replacement_task_set(facts))
    else:
        _from_appspec(facts, info)
    if with_task_definition and facts.task_definition_arn:
        facts.task_definition = client("ecs").describe_task_definition(taskDefinition=facts.task_definition_arn)[
            "taskDefinition"
        ]
    return facts


def other_active_deployments(facts: DeploymentFacts) -> list[str]:
    if facts.controller == "ecs":
        return other_active_service_deployments(facts)
    paginator = client("codedeploy").get_paginator("list_deployments")
    ids = (
        paginator.paginate(
            applicationName=facts.application_name,
            deploymentGroupName=facts.deployment_group_name,
            includeOnlyStatuses=ACTIVE_STATUSES,
        )
        .build_full_result()
        .get("deployments", [])
    )
    return [deployment_id for deployment_id in ids if deployment_id != facts.deployment_id]


# ---------------------------------------------------------------------------------------------
# ECS-native blue/green
# ---------------------------------------------------------------------------------------------

ECS_ACTIVE_STATUSES = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]


def _listener_of_rule(rule_arn: str) -> str:
    """arn:...:listener-rule/app/<lb>/<id>/<listener>/<rule> -> arn:...:listener/app/<lb>/<id>/<listener>."""
    prefix, _, path = rule_arn.partition(":listener-rule/")
    if not path:
        return rule_arn  # a Network Load Balancer's listener is named directly
    return f"{prefix}:listener/{path.rsplit('/', 1)[0]}"


def _target_group_name(arn: str) -> str:
    return arn.split(":targetgroup/", 1)[-1].split("/", 1)[0]


def load_ecs(
    service_arn: str, target_revision_arn: str, deployment_arn: str | None = None, with_task_definition: bool = True
) -> DeploymentFacts:
    ecs = client("ecs")
    revisions = ecs.describe_service_revisions(serviceRevisionArns=[target_revision_arn])
    if not revisions.get("serviceRevisions"):
        reasons = "; ".join(f.get("reason", "") for f in revisions.get("failures") or [])
        raise CheckFailed(f"service revision {target_revision_arn} not found ({reasons or 'no reason given'})")
    revision = revisions["serviceRevisions"][0]
    balancers = revision.get("loadBalancers") or []
    if not balancers:
        raise CheckFailed(f"service revision {target_revision_arn} has no load balancer: nothing to shift traffic on")
    balancer = balancers[0]
    advanced = balancer.get("advancedConfiguration") or {}
    if not advanced.get("alternateTargetGroupArn"):
        raise CheckFailed(
            f"service revision {target_revision_arn} has no advancedConfiguration.alternateTargetGroupArn: the service "
            "is not set up for ECS blue/green (provision it with bluegreen_controller: ecs)"
        )
    pair = [balancer.get("targetGroupArn", ""), advanced["alternateTargetGroupArn"]]
    rules = [rule for rule in (advanced.get("productionListenerRule"), advanced.get("testListenerRule")) if rule]
    _, _, path = service_arn.partition(":service/")
    cluster, _, service = path.partition("/")
    facts = DeploymentFacts(
        deployment_id=(deployment_arn or "").rsplit("/", 1)[-1],
        application_name="",
        deployment_group_name="",
        task_definition_arn=revision.get("taskDefinition", ""),
        container_name=balancer.get("containerName", ""),
        container_port=int(balancer.get("containerPort") or 0),
        cluster=cluster or revision.get("clusterArn"),
        service=service or service_arn,
        target_group_names=[_target_group_name(arn) for arn in pair],
        prod_listener_arns=[_listener_of_rule(advanced["productionListenerRule"])]
        if advanced.get("productionListenerRule")
        else [],
        test_listener_arns=[_listener_of_rule(advanced["testListenerRule"])]
        if advanced.get("testListenerRule")
        else [],
        network_configuration=_network((revision.get("networkConfiguration") or {}).get("awsvpcConfiguration")),
        platform_version=revision.get("platformVersion"),
        capacity_provider_strategy=_capacity_providers(revision.get("capacityProviderStrategy")),
        source=f"service revision {target_revision_arn.rsplit('/', 1)[-1]}",
        controller="ecs",
        service_deployment_arn=deployment_arn,
        target_revision_arn=target_revision_arn,
        listener_rule_arns=rules,
    )
    resolved = (revision.get("resolvedConfiguration") or {}).get("loadBalancers") or []
    facts.green_target_group_arn = resolved[0].get("targetGroupArn") if resolved else None
    services = ecs.describe_services(cluster=facts.cluster, services=[facts.service]).get("services", [])
    alarms = ((services[0] if services else {}).get("deploymentConfiguration") or {}).get("alarms") or {}
    if alarms.get("enable"):
        facts.alarm_names = list(alarms.get("alarmNames") or [])
    if with_task_definition and facts.task_definition_arn:
        facts.task_definition = ecs.describe_task_definition(taskDefinition=facts.task_definition_arn)["taskDefinition"]
    return facts


def other_active_service_deployments(facts: DeploymentFacts) -> list[str]:
    # botocore has no paginator for ListServiceDeployments: follow nextToken here.
    found, token = [], None
    while True:
        page = client("ecs").list_service_deployments(
            cluster=facts.cluster,
            service=facts.service,
            status=ECS_ACTIVE_STATUSES,
            **({"nextToken": token} if token else {}),
        )
        found.extend(page.get("serviceDeployments", []))
        token = page.get("nextToken")
        if not token:
            break
    return [
        d["serviceDeploymentArn"].rsplit("/", 1)[-1]
        for d in found
        if d.get("serviceDeploymentArn") != facts.service_deployment_arn
    ]


# --- the service deployment: the hooks of one stage, and a service's first deployment -------------------------


def service_deployment(hook: Hook) -> dict:
    """The hook's service deployment as DescribeServiceDeployments gives it."""
    found = client("ecs").describe_service_deployments(serviceDeploymentArns=[hook.deployment_arn])
    return (found.get("serviceDeployments") or [{}])[0]


def first_deployment(deployment: dict) -> bool:
    """A service's first deployment (CreateService): ECS invokes the hooks for it too, with no source revision
    (AWS's sample hooks tell it from an update by the service's deployments; the deployment's own
    sourceServiceRevisions says the same)."""
    return not deployment.get("sourceServiceRevisions")


def wait_for_hooks(hook: Hook, deployment: dict, names: list[str], interval: float, before: str) -> None:
    """The named hooks of this stage must have SUCCEEDED before `before`: Pending while they run, failed when one of
    them failed or the deployment is stopping or rolling back."""
    if str(deployment.get("status", "")).startswith(("ROLLBACK", "STOP")):
        raise CheckFailed(f"the service deployment is {deployment['status']}: {before} not run")
    for detail in deployment.get("lifecycleHookDetails") or []:
        name = str(detail.get("targetArn", "")).rsplit(":", 1)[-1]
        if name not in names:
            continue
        if detail.get("status") in ("FAILED", "TIMED_OUT"):
            raise CheckFailed(f"hook {name} {detail['status']} at {hook.stage}: {before} not run")
        if detail.get("status") != "SUCCEEDED":
            raise Pending(f"waiting for hook {name} ({detail.get('status')}) before {before}", interval)

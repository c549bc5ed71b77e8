"""What a hook checks, learnt from the deployment itself rather than from configuration.

CodeDeploy (`load`): GetDeployment -> the revision's sha256 -> GetApplicationRevision -> the AppSpec (JSON, see
module_utils/ecs_appspec.py) -> the task definition, container and port -> the image and APP_VERSION;
GetDeploymentGroup -> the ECS service, the target group pair, the production and test listeners and the
alarms. GetDeployment never returns the AppSpec itself (its API reference: the content "is always null").
After Install, what the AppSpec says is confirmed against the replacement task set ECS really runs.

ECS-native (`load_ecs`): the event's target service revision -> DescribeServiceRevisions -> the task definition,
container and port, network, the target group pair (the revision's and its alternate), the production and test
listener rules, and the target group the green revision really uses (resolvedConfiguration); DescribeServices ->
the alarms that roll the deployment back. The same DeploymentFacts either way: the checks do not know which
controller runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hooks.common import CheckFailed, client

ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]


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
    # "codedeploy" or "ecs"; for ECS, also the service deployment, the revisions and the listener rules.
    controller: str = "codedeploy"
    service_deployment_arn: str | None = None
    target_revision_arn: str | None = None
    green_target_group_arn: str | None = None
    listener_rule_arns: list[str] = field(default_factory=list)

    @property
    def container(self) -> dict:
        for container in self.task_definition.get("containerDefinitions", []):
            if container.get("name") == self.container_name:
                return container
        raise CheckFailed(
            f"task definition {self.task_definition_arn} has no container {self.container_name!r} "
            "(the AppSpec's LoadBalancerInfo.ContainerName)"
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


def _appspec_target(content: str) -> dict:
    try:
        appspec = json.loads(content)
    except ValueError:
        raise CheckFailed("the deployment's AppSpec is not JSON: render it with the ecs_appspec module") from None
    for resource in appspec.get("Resources") or []:
        target = resource.get("TargetService") or {}
        if target.get("Type") == "AWS::ECS::Service":
            return target.get("Properties") or {}
    raise CheckFailed("the deployment's AppSpec has no TargetService of Type AWS::ECS::Service")


def appspec_content(info: dict) -> str:
    """The deployment's AppSpec: from the response where it has it, else GetApplicationRevision by sha256."""
    revision = info.get("revision") or {}
    content = revision.get("appSpecContent") or revision.get("string") or {}
    if content.get("content"):
        return content["content"]
    digest = content.get("sha256")
    if revision.get("revisionType") != "AppSpecContent" or not digest:
        raise CheckFailed(
            f"deployment {info['deploymentId']} has no AppSpecContent revision with a sha256: create ECS "
            "deployments with revision.appSpecContent {content, sha256} (the codedeploy_deployment module does)"
        )
    codedeploy = client("codedeploy")
    try:
        found = codedeploy.get_application_revision(
            applicationName=info["applicationName"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}},
        )
    except codedeploy.exceptions.RevisionDoesNotExistException:
        raise CheckFailed(
            f"application {info['applicationName']} has no revision with sha256 {digest} "
            f"(the AppSpec of deployment {info['deploymentId']})"
        ) from None
    text = ((found.get("revision") or {}).get("appSpecContent") or {}).get("content")
    if not text:
        raise CheckFailed(f"GetApplicationRevision returned no AppSpec content for sha256 {digest}")
    return text


def load(deployment_id: str, with_task_definition: bool = True) -> DeploymentFacts:
    codedeploy = client("codedeploy")
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    content = appspec_content(info)
    properties = _appspec_target(content)
    balancer = properties.get("LoadBalancerInfo") or {}
    facts = DeploymentFacts(
        deployment_id=deployment_id,
        application_name=info["applicationName"],
        deployment_group_name=info["deploymentGroupName"],
        task_definition_arn=properties.get("TaskDefinition", ""),
        container_name=balancer.get("ContainerName", ""),
        container_port=int(balancer.get("ContainerPort") or 0),
        network_configuration=(properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration"),
        platform_version=properties.get("PlatformVersion"),
        capacity_provider_strategy=properties.get("CapacityProviderStrategy"),
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
    if with_task_definition and facts.task_definition_arn:
        facts.task_definition = client("ecs").describe_task_definition(taskDefinition=facts.task_definition_arn)[
            "taskDefinition"
        ]
    return facts


def replacement_task_set_id(facts: DeploymentFacts) -> str:
    """The id of the deployment's replacement (Green) task set, as BatchGetDeploymentTargets names it (after
    Install). It does not change during the deployment: read it once, then poll ECS."""
    codedeploy = client("codedeploy")
    target_ids = (
        codedeploy.get_paginator("list_deployment_targets")
        .paginate(deploymentId=facts.deployment_id)
        .build_full_result()
        .get("targetIds", [])
    )
    if target_ids:
        targets = codedeploy.batch_get_deployment_targets(deploymentId=facts.deployment_id, targetIds=target_ids[:25])
        for target in targets.get("deploymentTargets", []):
            for task_set in (target.get("ecsTarget") or {}).get("taskSetsInfo") or []:
                if task_set.get("taskSetLabel") == "Green" and task_set.get("identifer"):
                    return task_set["identifer"]  # sic: the API's spelling
    raise CheckFailed(f"deployment {facts.deployment_id} has no replacement (Green) task set yet")


def confirm_replacement(facts: DeploymentFacts, task_set_id: str) -> dict:
    """After Install: the replacement task set, as ECS describes it now, runs the task definition the AppSpec
    names (a second source for what the AppSpec said). Returns the task set."""
    services = client("ecs").describe_services(cluster=facts.cluster, services=[facts.service]).get("services", [])
    task_set = next(
        (
            ts
            for ts in (services[0] if services else {}).get("taskSets", [])
            if task_set_id in (ts.get("id"), ts.get("taskSetArn"))
        ),
        None,
    )
    if task_set is None:
        raise CheckFailed(f"ECS service {facts.service} has no task set {task_set_id} (the deployment's replacement)")
    if task_set.get("taskDefinition") != facts.task_definition_arn:
        raise CheckFailed(
            f"the replacement task set {task_set.get('id')} runs {task_set.get('taskDefinition')}, but the "
            f"deployment's AppSpec names {facts.task_definition_arn}"
        )
    return task_set


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
    awsvpc = (revision.get("networkConfiguration") or {}).get("awsvpcConfiguration")
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
        network_configuration={
            "Subnets": awsvpc.get("subnets", []),
            "SecurityGroups": awsvpc.get("securityGroups", []),
            "AssignPublicIp": awsvpc.get("assignPublicIp", "DISABLED"),
        }
        if awsvpc
        else None,
        platform_version=revision.get("platformVersion"),
        capacity_provider_strategy=[
            {"CapacityProvider": s["capacityProvider"], "Weight": s.get("weight", 1), "Base": s.get("base", 0)}
            for s in revision.get("capacityProviderStrategy") or []
        ]
        or None,
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

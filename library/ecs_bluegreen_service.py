#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_bluegreen_service
short_description: An ECS service that deploys itself blue/green, linear or canary (deploymentController ECS)
description:
  - Creates an ECS service with the ECS deployment controller, a BLUE_GREEN, LINEAR or CANARY strategy, lifecycle
    hooks, alarms, and a load balancer with its alternate target group, production and test listener rules and the
    role ECS modifies them with. community.aws.ecs_service has none of these settings.
  - On an existing service, converges what may change without a deployment (the deployment configuration, the
    desired count, the health check grace period) and reports the difference; the task definition changes only
    through a deployment (M(bluegreen_deployment)). A different load balancer or network is refused, since
    UpdateService would start a deployment with it; change it with a deployment, or recreate the service.
  - A service with another deployment controller (CODE_DEPLOY) is refused with what to do, the migration
    playbook (playbooks/migrate_controller.yml).
  - Supports check mode (predicts the change) and diff mode.
version_added: 0.2.0
author: ecs-bluegreen-ops maintainers
options:
  cluster:
    description: The ECS cluster.
    type: str
    required: true
  name:
    description: The service.
    type: str
    required: true
  task_definition:
    description: The task definition the service starts with (creation only).
    type: str
    required: true
  desired_count:
    description: The number of tasks.
    type: int
    required: true
  platform_version:
    description: The Fargate platform version.
    type: str
    default: LATEST
  subnets:
    description: The tasks' subnets.
    type: list
    elements: str
    required: true
  security_groups:
    description: The tasks' security groups.
    type: list
    elements: str
    required: true
  container_name:
    description: The container the load balancer sends traffic to.
    type: str
    required: true
  container_port:
    description: Its port.
    type: int
    required: true
  target_group_arn:
    description: The target group the first revision serves from.
    type: str
    required: true
  alternate_target_group_arn:
    description: The other target group of the pair (each new revision starts in the one production does not use).
    type: str
    required: true
  production_listener_rule_arn:
    description: The listener rule that forwards production traffic to the pair.
    type: str
    required: true
  test_listener_rule_arn:
    description: The listener rule that forwards test traffic to the new revision.
    type: str
  load_balancer_role_arn:
    description: The role ECS assumes to modify the listener rules.
    type: str
    required: true
  deployment_configuration:
    description:
      - The service's deploymentConfiguration (strategy, bake time, linear or canary configuration, lifecycle hooks,
        alarms), as the bluegreen_ecs_deployment_configuration filter builds it from the inventory.
    type: dict
    required: true
  health_check_grace_period_seconds:
    description: Seconds ECS ignores failing load balancer health checks of a new task.
    type: int
    default: 0
  pause_first_deployment:
    description:
      - Create the service (or move it from CODE_DEPLOY) with its PAUSE hooks. ECS runs the lifecycle hooks for a
        new service's first deployment and for the deployment the move starts; with its pause such a deployment waits
        for promote.yml. Without it (the default) the service starts without its PAUSE hooks, and the next run of
        this module adds them in place.
    type: bool
    default: false
  migrate_from_codedeploy:
    description:
      - A service with the CODE_DEPLOY deployment controller moves to ECS-native blue/green in place
        (UpdateService with C(deploymentController) ECS, this deployment configuration and load balancer), as the ECS
        developer guide's migration documents it; its tasks keep serving while the service deployment the move
        starts (UpdateService with loadBalancers starts one) runs new tasks into the other target group, every
        lifecycle hook and the traffic shift (follow it with M(bluegreen_deployment)). The target group its
        PRIMARY task set serves from becomes O(target_group_arn)'s role, the other one of the pair the alternate,
        whichever order they are given in. Refused while a CodeDeploy deployment is in progress (more than one
        task set).
      - Without it, such a service is refused with the pointer to playbooks/migrate_controller.yml.
    type: bool
    default: false
  tags:
    description: Tags of the service (creation only; tasks get them too).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The service, deploying itself blue/green
  ecs_bluegreen_service:
    cluster: orders-prod
    name: orders-prod
    task_definition: "{{ first.taskDefinitionArn }}"
    desired_count: 2
    subnets: "{{ network_result.private_subnet_ids }}"
    security_groups: ["{{ service_group_id }}"]
    container_name: web
    container_port: 8000
    target_group_arn: "{{ blue_arn }}"
    alternate_target_group_arn: "{{ green_arn }}"
    production_listener_rule_arn: "{{ rules.production }}"
    test_listener_rule_arn: "{{ rules.test }}"
    load_balancer_role_arn: "{{ roles['ecs-load-balancer'] }}"
    deployment_configuration: "{{ bluegreen_names | bluegreen_ecs_deployment_configuration(...) }}"
"""

RETURN = r"""
service:
  description: The service as DescribeServices returns it after the change.
  returned: unless check mode created it
  type: dict
migrated:
  description: The service moved from the CODE_DEPLOY deployment controller to ECS (O(migrate_from_codedeploy)).
  returned: when it moved
  type: bool
serving:
  description: The target group the moved service's tasks serve from (production's, for ECS, from then on).
  returned: when it moved
  type: str
differences:
  description: What differed from the service that existed (names of the settings).
  returned: always
  type: list
  elements: str
"""

import json

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.aws import retry_decorator
from ansible.module_utils.ecs.deployments import controller_of
from ansible.module_utils.model.ecs import EcsPlanError, check_hooks
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# deploymentConfiguration members this module sets, compared one by one (ECS fills in others, such as the
# deployment circuit breaker of a rolling update, which are left alone).
COMPARED = (
    "strategy",
    "bakeTimeInMinutes",
    "linearConfiguration",
    "canaryConfiguration",
    "lifecycleHooks",
    "alarms",
    "maximumPercent",
    "minimumHealthyPercent",
)


def load_balancers(params):
    advanced = {
        "alternateTargetGroupArn": params["alternate_target_group_arn"],
        "productionListenerRule": params["production_listener_rule_arn"],
        "roleArn": params["load_balancer_role_arn"],
    }
    if params["test_listener_rule_arn"]:
        advanced["testListenerRule"] = params["test_listener_rule_arn"]
    return [
        {
            "targetGroupArn": params["target_group_arn"],
            "containerName": params["container_name"],
            "containerPort": params["container_port"],
            "advancedConfiguration": advanced,
        }
    ]


def _pair_view(balancers):
    """A load balancer setting as compared: the target group pair as a set (which one is production changes with
    each deployment, and a service moved from CodeDeploy names the one it served from first), the rest as is."""
    balancer = json.loads(json.dumps((balancers or [{}])[0]))
    advanced = balancer.pop("advancedConfiguration", None) or {}
    pair = sorted({balancer.pop("targetGroupArn", None), advanced.pop("alternateTargetGroupArn", None)} - {None})
    return _normal({**balancer, "advancedConfiguration": advanced, "pair": pair})


def _normal(value):
    """Numbers compared as numbers (ECS answers 10.0 for 10), lists of hooks in their order."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def differences(current, params):
    """(what may change in place: {member: wanted}, what needs a deployment or a new service: [names])."""
    wanted_config = params["deployment_configuration"]
    have_config = current.get("deploymentConfiguration") or {}
    in_place, refused = {}, []
    if any(_normal(have_config.get(k)) != _normal(wanted_config.get(k)) for k in COMPARED):
        in_place["deploymentConfiguration"] = wanted_config
    if current.get("desiredCount") != params["desired_count"]:
        in_place["desiredCount"] = params["desired_count"]
    if (current.get("healthCheckGracePeriodSeconds") or 0) != params["health_check_grace_period_seconds"]:
        in_place["healthCheckGracePeriodSeconds"] = params["health_check_grace_period_seconds"]
    if _pair_view(current.get("loadBalancers") or [{}]) != _pair_view(load_balancers(params)):
        refused.append("loadBalancers")
    awsvpc = (current.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    if sorted(awsvpc.get("subnets") or []) != sorted(params["subnets"]) or sorted(
        awsvpc.get("securityGroups") or []
    ) != sorted(params["security_groups"]):
        refused.append("networkConfiguration")
    return in_place, refused


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        name=dict(type="str", required=True),
        task_definition=dict(type="str", required=True),
        desired_count=dict(type="int", required=True),
        platform_version=dict(type="str", default="LATEST"),
        subnets=dict(type="list", elements="str", required=True),
        security_groups=dict(type="list", elements="str", required=True),
        container_name=dict(type="str", required=True),
        container_port=dict(type="int", required=True),
        target_group_arn=dict(type="str", required=True),
        alternate_target_group_arn=dict(type="str", required=True),
        production_listener_rule_arn=dict(type="str", required=True),
        test_listener_rule_arn=dict(type="str"),
        load_balancer_role_arn=dict(type="str", required=True),
        deployment_configuration=dict(type="dict", required=True),
        health_check_grace_period_seconds=dict(type="int", default=0),
        migrate_from_codedeploy=dict(type="bool", default=False),
        pause_first_deployment=dict(type="bool", default=False),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        check_hooks(params["deployment_configuration"].get("lifecycleHooks") or [])
    except EcsPlanError as e:
        module.fail_json(msg=str(e))
    if params["deployment_configuration"].get("strategy") not in ("BLUE_GREEN", "LINEAR", "CANARY"):
        module.fail_json(
            msg=f"deployment_configuration.strategy is {params['deployment_configuration'].get('strategy')!r}: "
            "BLUE_GREEN, LINEAR or CANARY (this module makes blue/green services only)"
        )
    client = module.client("ecs", retry_decorator=retry_decorator())
    try:
        found = client.describe_services(cluster=params["cluster"], services=[params["name"]], aws_retry=True)
        current = next((s for s in found.get("services") or [] if s.get("status") != "INACTIVE"), None)
        if current is None:
            create(module, client)
        converge(module, client, current)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"ECS refused a call for service {params['name']}")


def first_configuration(params):
    """The deployment configuration a new service is created (or a CODE_DEPLOY one moved) with: without its PAUSE
    hooks, unless pause_first_deployment. ECS runs the lifecycle hooks for a service's first deployment too, and the
    move's UpdateService (with loadBalancers) starts a deployment: a manual-promote pause would hold a first one with
    no version serving, nothing to approve it over, and a move until someone promotes it. Provisioning sets the whole
    configuration once that deployment ended (in place: deploymentConfiguration "doesn't trigger a new service
    deployment", UpdateService API reference)."""
    configuration = params["deployment_configuration"]
    if params["pause_first_deployment"]:
        return configuration
    hooks = configuration.get("lifecycleHooks") or []
    kept = [hook for hook in hooks if hook.get("targetType") != "PAUSE"]
    return {**configuration, "lifecycleHooks": kept} if len(kept) != len(hooks) else configuration


def create(module, client):
    params = module.params
    if module.check_mode:
        module.exit_json(
            changed=True, differences=["service"], diff={"before": {}, "after": {"service": params["name"]}}
        )
    request = dict(
        cluster=params["cluster"],
        serviceName=params["name"],
        taskDefinition=params["task_definition"],
        desiredCount=params["desired_count"],
        launchType="FARGATE",
        platformVersion=params["platform_version"],
        deploymentController={"type": "ECS"},
        deploymentConfiguration=first_configuration(params),
        loadBalancers=load_balancers(params),
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": params["subnets"],
                "securityGroups": params["security_groups"],
                "assignPublicIp": "DISABLED",
            }
        },
        healthCheckGracePeriodSeconds=params["health_check_grace_period_seconds"],
        propagateTags="SERVICE",
    )
    if params["tags"]:
        request["tags"] = [{"key": k, "value": str(v)} for k, v in sorted(params["tags"].items())]
    service = client.create_service(aws_retry=True, **request)["service"]
    module.exit_json(changed=True, differences=["service"], service=service)


def migrate(module, client, current):
    """CODE_DEPLOY -> ECS in place (the ECS developer guide's migration): one UpdateService; the task set's tasks
    keep serving from their target group while the service deployment it starts moves the service to new tasks in
    the other group of the pair."""
    params = module.params
    task_sets = [t for t in current.get("taskSets") or [] if t.get("status") in ("PRIMARY", "ACTIVE")]
    if len(task_sets) != 1:
        module.fail_json(
            msg=f"service {params['name']} has {len(task_sets)} task sets: a CodeDeploy deployment is in progress. "
            "Wait for it to end (playbooks/status.yml), then move the service"
        )
    serving = (task_sets[0].get("loadBalancers") or [{}])[0].get("targetGroupArn")
    pair = [params["target_group_arn"], params["alternate_target_group_arn"]]
    if serving not in pair:
        module.fail_json(msg=f"service {params['name']} serves from {serving}, not one of the pair {pair}")
    request_params = dict(
        params, target_group_arn=serving, alternate_target_group_arn=next(arn for arn in pair if arn != serving)
    )
    result = {"changed": True, "differences": ["deploymentController"], "migrated": True, "serving": serving}
    if module.check_mode:
        module.exit_json(**result, diff={"before": {"controller": "CODE_DEPLOY"}, "after": {"controller": "ECS"}})
    result["service"] = client.update_service(
        cluster=params["cluster"],
        service=params["name"],
        deploymentController={"type": "ECS"},
        deploymentConfiguration=first_configuration(params),
        loadBalancers=load_balancers(request_params),
        aws_retry=True,
    )["service"]
    module.exit_json(**result)


def converge(module, client, current):
    params = module.params
    controller = controller_of(current)
    if controller == "CODE_DEPLOY" and params["migrate_from_codedeploy"]:
        migrate(module, client, current)
    if controller != "ECS":
        module.fail_json(
            msg=f"service {params['name']} has the {controller} deployment controller: move it to ECS-native "
            "blue/green with playbooks/migrate_controller.yml (docs/controllers.md), or keep bluegreen_controller: "
            "codedeploy for this environment"
        )
    in_place, refused = differences(current, params)
    if refused:
        module.fail_json(
            msg=f"service {params['name']} differs in {', '.join(refused)}: UpdateService would start a deployment "
            "with it. Change it through a deployment, or delete and recreate the service (teardown.yml, provision.yml)",
            differences=refused,
        )
    result = {
        "changed": bool(in_place),
        "differences": sorted(in_place),
        "diff": {
            "before": {k: current.get(k) for k in in_place},
            "after": dict(in_place),
        },
    }
    if in_place and not module.check_mode:
        result["service"] = client.update_service(
            cluster=params["cluster"], service=params["name"], aws_retry=True, **in_place
        )["service"]
    else:
        result["service"] = current
    module.exit_json(**result)


if __name__ == "__main__":
    main()

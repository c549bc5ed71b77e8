#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_group
short_description: Manage an ECS blue/green deployment group in AWS CodeDeploy
description:
  - Creates, updates in place or deletes a CodeDeploy deployment group that deploys an ECS service
    blue/green with traffic control through a pair of target groups.
  - Updates after a full normalized comparison (order of lists and AWS's defaults do not count as
    changes); only the fields that differ are sent. A parameter left unset is not touched.
  - The deployment group holds configuration only. After a deployment the target groups swap roles in
    the ECS service and the listeners, not here, so re-running this module never moves traffic.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  application_name:
    description: The CodeDeploy application (compute platform ECS).
    type: str
    required: true
  name:
    description: Name of the deployment group.
    type: str
    required: true
    aliases: [deployment_group_name]
  state:
    description: Whether the group exists.
    type: str
    choices: [present, absent]
    default: present
  service_role_arn:
    description: IAM role that CodeDeploy assumes (with the AWSCodeDeployRoleForECS policy). Required to create.
    type: str
  deployment_config_name:
    description: Default deployment config, for example V(CodeDeployDefault.ECSAllAtOnce) or a custom one.
    type: str
  ecs_service:
    description: The ECS service deployed (created with the CODE_DEPLOY deployment controller). Required to create.
    type: dict
    suboptions:
      cluster:
        description: Cluster name.
        type: str
        required: true
      service:
        description: Service name.
        type: str
        required: true
  target_group_names:
    description: The two target groups of the blue/green pair (names, not ARNs). Required to create.
    type: list
    elements: str
  prod_listener_arns:
    description: Listener(s) that route production traffic. Required with O(target_group_names).
    type: list
    elements: str
  test_listener_arns:
    description: Listener(s) that route test traffic to the replacement task set before production.
    type: list
    elements: str
  deployment_ready_wait_minutes:
    description:
      - V(0) reroutes traffic as soon as the replacement task set is ready. A positive number waits that
        many minutes at Ready for a manual promote (ContinueDeployment) and stops the deployment if none comes.
      - Defaults to V(0) when the group is created.
    type: int
  blue_termination_wait_minutes:
    description:
      - Minutes to keep the original task set after a successful deployment (a quick way back), 0 to 2880.
      - Defaults to V(5) when the group is created.
    type: int
  auto_rollback_events:
    description: Events that roll a deployment back automatically; an empty list disables automatic rollback.
    type: list
    elements: str
    choices: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]
  alarms:
    description: CloudWatch alarm names that stop a deployment (at most 10); an empty list disables alarm monitoring.
    type: list
    elements: str
  alarm_ignore_poll_failure:
    description: Go on with a deployment when the alarms cannot be read.
    type: bool
    default: false
  triggers:
    description: SNS notifications of deployment events.
    type: list
    elements: dict
    suboptions:
      name:
        description: Trigger name.
        type: str
        required: true
      target_arn:
        description: SNS topic ARN.
        type: str
        required: true
      events:
        description: Deployment events that notify.
        type: list
        elements: str
        required: true
        choices: [DeploymentStart, DeploymentSuccess, DeploymentFailure, DeploymentStop, DeploymentRollback,
                  DeploymentReady]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Blue/green group of the orders service, waiting 30 minutes for a manual promote
  codedeploy_deployment_group:
    application_name: orders
    name: orders-prod
    service_role_arn: arn:aws:iam::123456789012:role/orders-prod-codedeploy
    deployment_config_name: orders-linear-10-every-5
    ecs_service:
      cluster: prod
      service: orders
    target_group_names: [orders-prod-blue, orders-prod-green]
    prod_listener_arns: ["{{ prod_listener_arn }}"]
    test_listener_arns: ["{{ test_listener_arn }}"]
    deployment_ready_wait_minutes: 30
    blue_termination_wait_minutes: 15
    auto_rollback_events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]
    alarms: [orders-prod-error-rate-green, orders-prod-unhealthy-hosts-green]
"""

RETURN = r"""
deployment_group:
  description: The group's configuration, snake_cased from GetDeploymentGroup.
  returned: when it exists
  type: dict
  contains:
    deployment_group_id:
      description: Its id.
      type: str
    deployment_config_name:
      description: Its deployment config.
      type: str
    load_balancer_info:
      description: The target group pair and the production and test listeners.
      type: dict
    blue_green_deployment_configuration:
      description: The ready option and the blue termination wait.
      type: dict
    last_attempted_deployment:
      description: Id, status and times of the group's last deployment.
      type: dict
    tags:
      description: Its tags.
      type: dict
changed_fields:
  description: The API fields that were (or in check mode would be) updated.
  returned: when the group existed
  type: list
  elements: str
"""

import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.aws import retry_decorator
from ansible.module_utils.codedeploy.groups import (
    AUTO_ROLLBACK_EVENTS,
    TRIGGER_EVENTS,
    desired_group,
    group_changes,
    group_view,
)
from ansible.module_utils.codedeploy.tags import ensure_tags, resource_arn, tag_list
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
LISTENER_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener/(app|net)/[\w-]+/[0-9a-f]+/[0-9a-f]+$"
)
TARGET_GROUP_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
BLUE_GREEN_STYLE = {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
CREATE_DEFAULTS = {"deployment_ready_wait_minutes": 0, "blue_termination_wait_minutes": 5}


def pair_problems(params):
    """The target group pair and its listeners: CodeDeploy replaces them as one structure."""
    problems = []
    names = params["target_group_names"]
    if names is not None:
        if len(names) != 2 or len(set(names)) != 2:
            problems.append(f"target_group_names takes exactly two different target groups, got {names}")
        problems.extend(
            f"target group {name!r} is not a target group name (1-32 letters, digits, -)"
            for name in names
            if not TARGET_GROUP_NAME.match(name)
        )
        if not params["prod_listener_arns"]:
            problems.append("prod_listener_arns is required with target_group_names (they form one pair)")
    elif params["prod_listener_arns"] or params["test_listener_arns"]:
        problems.append("give target_group_names together with the listener ARNs: CodeDeploy replaces the pair whole")
    listeners = (params["prod_listener_arns"] or []) + (params["test_listener_arns"] or [])
    problems.extend(f"{arn!r} is not a load balancer listener ARN" for arn in listeners if not LISTENER_ARN.match(arn))
    overlap = set(params["prod_listener_arns"] or []) & set(params["test_listener_arns"] or [])
    if overlap:
        problems.append(f"listener(s) {sorted(overlap)} cannot route both production and test traffic")
    return problems


def validate(module, creating):
    """Every input problem, before any call that changes AWS."""
    params = module.params
    problems = []
    if creating:
        problems.extend(
            f"{required} is required to create the deployment group"
            for required in ("service_role_arn", "ecs_service", "target_group_names", "prod_listener_arns")
            if not params.get(required)
        )
    if params["service_role_arn"] and not ROLE_ARN.match(params["service_role_arn"]):
        problems.append(f"service_role_arn {params['service_role_arn']!r} is not an IAM role ARN")
    problems.extend(pair_problems(params))
    for option in ("deployment_ready_wait_minutes", "blue_termination_wait_minutes"):
        value = params[option]
        if value is not None and not 0 <= value <= 2880:
            problems.append(f"{option} must be 0 to 2880 minutes, got {value}")
    alarms = params["alarms"]
    if alarms is not None and len(alarms) > 10:
        problems.append(f"alarms takes at most 10 alarms, got {len(alarms)}")
    if "DEPLOYMENT_STOP_ON_ALARM" in (params["auto_rollback_events"] or []) and alarms is not None and not alarms:
        problems.append("auto_rollback_events has DEPLOYMENT_STOP_ON_ALARM but alarms is empty")
    if problems:
        module.fail_json(msg="Invalid deployment group input: " + "; ".join(problems))


def get_group(module, client):
    params = module.params
    try:
        return client.get_deployment_group(
            applicationName=params["application_name"], deploymentGroupName=params["name"], aws_retry=True
        )["deploymentGroupInfo"]
    except client.exceptions.DeploymentGroupDoesNotExistException:
        return None
    except client.exceptions.ApplicationDoesNotExistException:
        if params["state"] == "absent":
            return None
        module.fail_json(
            msg=f"Application {params['application_name']} does not exist: create it first (codedeploy_application)"
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to get deployment group {params['name']}")


def diff_views(before, after):
    return {"before": group_view(before) if before else {}, "after": group_view(after)}


def create(module, client):
    params = dict(module.params)
    for option, default in CREATE_DEFAULTS.items():
        if params[option] is None:
            params[option] = default
    request = desired_group(params)
    request.update(
        applicationName=params["application_name"],
        deploymentGroupName=params["name"],
        deploymentStyle=BLUE_GREEN_STYLE,
    )
    if params["tags"]:
        request["tags"] = tag_list(params["tags"])
    predicted = dict(request, computePlatform="ECS")
    if module.check_mode:
        module.exit_json(changed=True, diff=diff_views(None, predicted))
    try:
        client.create_deployment_group(aws_retry=True, **request)
    except client.exceptions.DeploymentConfigDoesNotExistException as e:
        module.fail_json_aws(
            e,
            msg=f"Unable to create the deployment group: deployment config {params['deployment_config_name']} "
            "does not exist",
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to create deployment group {params['name']}")
    created = get_group(module, client)
    view = group_view(created)
    view["tags"] = params["tags"] or {}
    module.exit_json(changed=True, deployment_group=view, diff=diff_views(None, created))


def update(module, client, current):
    params = module.params
    if current.get("computePlatform") not in (None, "ECS"):
        module.fail_json(
            msg=f"Deployment group {params['name']} is for compute platform {current['computePlatform']}, not ECS"
        )
    changes = group_changes(current, desired_group(params))
    style = current.get("deploymentStyle") or {}
    if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        changes["deploymentStyle"] = BLUE_GREEN_STYLE
    after = dict(current, **changes)
    if changes and not module.check_mode:
        try:
            client.update_deployment_group(
                applicationName=params["application_name"],
                currentDeploymentGroupName=params["name"],
                aws_retry=True,
                **changes,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to update deployment group {params['name']}")
        after = get_group(module, client)
    arn = resource_arn(module, "deploymentgroup", f"{params['application_name']}/{params['name']}")
    try:
        tags_changed, tags_before, tags_after = ensure_tags(module, client, arn, params["tags"], params["purge_tags"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to update the tags of deployment group {params['name']}")
    view = group_view(after)
    view["tags"] = tags_after
    result = {
        "changed": bool(changes) or tags_changed,
        "deployment_group": view,
        "changed_fields": sorted(changes),
    }
    if result["changed"]:
        diff = diff_views(current, after)
        diff["before"]["tags"], diff["after"]["tags"] = tags_before, tags_after
        result["diff"] = diff
    module.exit_json(**result)


def delete(module, client, current):
    params = module.params
    if current is None:
        module.exit_json(changed=False)
    if not module.check_mode:
        try:
            client.delete_deployment_group(
                applicationName=params["application_name"], deploymentGroupName=params["name"], aws_retry=True
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to delete deployment group {params['name']}")
    module.exit_json(changed=True, diff={"before": group_view(current), "after": {}})


def main():
    argument_spec = dict(
        application_name=dict(type="str", required=True),
        name=dict(type="str", required=True, aliases=["deployment_group_name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        service_role_arn=dict(type="str"),
        deployment_config_name=dict(type="str"),
        ecs_service=dict(
            type="dict",
            options=dict(cluster=dict(type="str", required=True), service=dict(type="str", required=True)),
        ),
        target_group_names=dict(type="list", elements="str"),
        prod_listener_arns=dict(type="list", elements="str"),
        test_listener_arns=dict(type="list", elements="str"),
        deployment_ready_wait_minutes=dict(type="int"),
        blue_termination_wait_minutes=dict(type="int"),
        auto_rollback_events=dict(type="list", elements="str", choices=list(AUTO_ROLLBACK_EVENTS)),
        alarms=dict(type="list", elements="str"),
        alarm_ignore_poll_failure=dict(type="bool", default=False),
        triggers=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                target_arn=dict(type="str", required=True),
                events=dict(
                    type="list",
                    elements="str",
                    required=True,
                    choices=list(TRIGGER_EVENTS),
                ),
            ),
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("codedeploy", retry_decorator=retry_decorator())
    current = get_group(module, client)
    if module.params["state"] == "absent":
        delete(module, client, current)
    validate(module, creating=current is None)
    if current is None:
        create(module, client)
    update(module, client, current)


if __name__ == "__main__":
    main()

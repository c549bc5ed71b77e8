#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_config
short_description: Manage a custom ECS deployment config in AWS CodeDeploy
description:
  - Creates or deletes a custom deployment config for the ECS compute platform (all at once, canary
    with a first percentage and the rest after an interval, or linear with the same percentage every interval).
  - CodeDeploy configs cannot be updated. A config that exists with another definition is an error,
    unless O(replace=true), which deletes and recreates it, and only when no deployment group uses it
    (otherwise the error names the groups).
  - The predefined C(CodeDeployDefault.*) configs cannot be created or deleted.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  name:
    description: Name of the deployment config.
    type: str
    required: true
    aliases: [deployment_config_name]
  state:
    description: Whether the config exists.
    type: str
    choices: [present, absent]
    default: present
  traffic_routing:
    description: How production traffic moves to the replacement task set. Required with O(state=present).
    type: dict
    suboptions:
      type:
        description: V(AllAtOnce), V(TimeBasedCanary) or V(TimeBasedLinear).
        type: str
        choices: [AllAtOnce, TimeBasedCanary, TimeBasedLinear]
        required: true
      percentage:
        description: Canary - the first share; linear - the share added each interval (1 to 99).
        type: int
      interval:
        description: Minutes between steps (canary - before the rest; linear - between increments).
        type: int
  replace:
    description: Delete and recreate the config when its definition differs (only when no group uses it).
    type: bool
    default: false
  keep_when_used:
    description:
      - With O(state=absent), a config another deployment group still uses is kept (unchanged, C(used_by) names
        the groups) instead of failing. A config is the account's, shared by every group that names it, so the
        teardown of one service keeps it for the others.
      - The groups of applications the caller may not read (an environment's operator reads its own) are not
        searched - CodeDeploy refuses to delete a config in use, and the config is then kept too.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode.
  - Canary 10% then 10% more every 5 minutes is V(TimeBasedLinear) with percentage 10 and interval 5.
"""

EXAMPLES = r"""
- name: Ten percent more of the traffic every five minutes
  codedeploy_deployment_config:
    name: orders-linear-10-every-5
    traffic_routing:
      type: TimeBasedLinear
      percentage: 10
      interval: 5
"""

RETURN = r"""
deployment_config:
  description: The config.
  returned: when it exists
  type: dict
  contains:
    deployment_config_name:
      description: Its name.
      type: str
    deployment_config_id:
      description: Its id.
      type: str
    compute_platform:
      description: ECS.
      type: str
    traffic_routing_config:
      description: The API's trafficRoutingConfig, snake_cased.
      type: dict
used_by:
  description: Deployment groups (C(application/group)) that use the config, when that blocked a change.
  returned: on failure to replace or delete
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.aws import iso, retry_decorator
from ansible.module_utils.codedeploy.groups import (
    PREDEFINED_CONFIG_PREFIX,
    groups_using_config,
    normalize_routing,
    traffic_routing_config,
)
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def get_config(module, client, name):
    try:
        return client.get_deployment_config(deploymentConfigName=name, aws_retry=True)["deploymentConfigInfo"]
    except client.exceptions.DeploymentConfigDoesNotExistException:
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to get deployment config {name}")


def view(info):
    return camel_dict_to_snake_dict({k: iso(v) for k, v in info.items()})


def describe(routing):
    kind, percentage, interval = routing
    if kind == "AllAtOnce":
        return "AllAtOnce"
    return (
        f"{kind} {percentage}% every {interval} min"
        if kind == "TimeBasedLinear"
        else f"{kind} {percentage}% then the rest after {interval} min"
    )


def validate(module):
    routing = module.params["traffic_routing"]
    if routing is None:
        module.fail_json(msg="traffic_routing is required with state=present")
    kind, percentage, interval = routing["type"], routing.get("percentage"), routing.get("interval")
    if kind == "AllAtOnce":
        if percentage is not None or interval is not None:
            module.fail_json(msg="traffic_routing: AllAtOnce takes no percentage or interval")
        return traffic_routing_config(kind)
    if percentage is None or interval is None:
        module.fail_json(msg=f"traffic_routing: {kind} needs both percentage (1-99) and interval (minutes)")
    if not 1 <= percentage <= 99:
        module.fail_json(msg=f"traffic_routing.percentage must be 1 to 99, got {percentage}")
    if not 1 <= interval <= 2880:
        module.fail_json(msg=f"traffic_routing.interval must be 1 to 2880 minutes, got {interval}")
    return traffic_routing_config(kind, percentage, interval)


def users_of(module, client, name):
    try:
        return groups_using_config(client, name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to find the deployment groups that use {name}")


def delete(module, client, name, unreadable, keep=False):
    try:
        client.delete_deployment_config(deploymentConfigName=name, aws_retry=True)
    except client.exceptions.DeploymentConfigInUseException:
        # A group of an application this caller cannot read, or a deployment in progress.
        where = f"a deployment group of {', '.join(unreadable)} or " if unreadable else ""
        if keep:
            module.exit_json(
                changed=False,
                used_by=[],
                msg=f"Deployment config {name} is kept: CodeDeploy says {where}a deployment in progress uses it",
            )
        module.fail_json(
            msg=f"Deployment config {name} is in use by {where}a deployment in progress; try again when it ends",
            used_by=users_of(module, client, name)[0],
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to delete deployment config {name}")


def create(module, client, name, routing):
    try:
        client.create_deployment_config(
            deploymentConfigName=name, computePlatform="ECS", trafficRoutingConfig=routing, aws_retry=True
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to create deployment config {name}")


def ensure_absent(module, client, name, existing):
    if existing is None:
        module.exit_json(changed=False)
    used_by, unreadable = users_of(module, client, name)
    if used_by and module.params["keep_when_used"]:
        module.exit_json(
            changed=False, used_by=used_by, msg=f"Deployment config {name} is kept: {', '.join(used_by)} use it"
        )
    if used_by:
        module.fail_json(
            msg=f"Deployment config {name} is used by deployment group(s) {', '.join(used_by)}: point them "
            "at another config first",
            used_by=used_by,
        )
    if not module.check_mode:
        delete(module, client, name, unreadable, keep=module.params["keep_when_used"])
    module.exit_json(changed=True, diff={"before": view(existing), "after": {}})


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["deployment_config_name"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            traffic_routing=dict(
                type="dict",
                options=dict(
                    type=dict(type="str", choices=["AllAtOnce", "TimeBasedCanary", "TimeBasedLinear"], required=True),
                    percentage=dict(type="int"),
                    interval=dict(type="int"),
                ),
            ),
            replace=dict(type="bool", default=False),
            keep_when_used=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    name, state = module.params["name"], module.params["state"]
    if name.startswith(PREDEFINED_CONFIG_PREFIX):
        module.fail_json(
            msg=f"{name} is a predefined CodeDeploy config: it cannot be created or deleted. Refer to it by "
            "name in the deployment group, or give a custom config another name."
        )
    desired = validate(module) if state == "present" else None
    client = module.client("codedeploy", retry_decorator=retry_decorator())
    existing = get_config(module, client, name)

    if state == "absent":
        ensure_absent(module, client, name, existing)

    if existing is not None and existing.get("computePlatform") not in (None, "ECS"):
        module.fail_json(
            msg=f"Deployment config {name} exists for compute platform {existing['computePlatform']}, not ECS"
        )
    current = normalize_routing(existing.get("trafficRoutingConfig")) if existing else None
    wanted = normalize_routing(desired)
    diff = {
        "before": {"traffic_routing": describe(current)} if current else {},
        "after": {"traffic_routing": describe(wanted)},
    }
    if current == wanted:
        module.exit_json(changed=False, deployment_config=view(existing))
    if existing is not None:
        if not module.params["replace"]:
            module.fail_json(
                msg=f"Deployment config {name} exists as {describe(current)}, not {describe(wanted)}, and CodeDeploy "
                "configs cannot be updated. Set replace=true to delete and recreate it (allowed only while no "
                "deployment group uses it), or give the new definition another name.",
                diff=diff,
            )
        used_by, unreadable = users_of(module, client, name)
        if used_by:
            module.fail_json(
                msg=f"Deployment config {name} must be replaced ({describe(current)} -> {describe(wanted)}) but is "
                f"used by deployment group(s) {', '.join(used_by)}: give the new definition another name and point "
                "the groups at it",
                used_by=used_by,
                diff=diff,
            )
    if module.check_mode:
        module.exit_json(changed=True, diff=diff)
    if existing is not None:
        delete(module, client, name, unreadable)
    create(module, client, name, desired)
    module.exit_json(changed=True, deployment_config=view(get_config(module, client, name)), diff=diff)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment_info
short_description: Read CodeDeploy ECS deployments - one by id, or the latest or active ones of a group
description:
  - Returns deployments in the shape M(codedeploy_deployment) returns (status, error information,
    lifecycle events with times and diagnostics, task sets with their traffic weights, rollback information).
  - Newest first. For the status and rollback playbooks.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  deployment_id:
    description: One deployment. Excludes O(application_name) and O(deployment_group_name).
    type: str
  application_name:
    description: The application (with O(deployment_group_name)).
    type: str
  deployment_group_name:
    description: The deployment group whose deployments to read.
    type: str
  statuses:
    description:
      - Only deployments with these statuses.
      - V(active) is short for Created, Queued, InProgress, Baking and Ready.
    type: list
    elements: str
    choices: [active, Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped]
  max_results:
    description: At most this many deployments (the newest).
    type: int
    default: 10
  include_targets:
    description: Read each deployment's lifecycle events and task sets (two more calls per deployment).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The last five deployments of the group
  codedeploy_deployment_info:
    application_name: orders
    deployment_group_name: orders-prod
    max_results: 5
  register: history

- name: Is anything running?
  codedeploy_deployment_info:
    application_name: orders
    deployment_group_name: orders-prod
    statuses: [active]
  register: active
"""

RETURN = r"""
deployments:
  description: The deployments, newest first, each as RV(codedeploy_deployment.deployment).
  returned: always
  type: list
  elements: dict
deployment_group:
  description: The group's configuration (when a group was named).
  returned: when O(deployment_group_name) is set
  type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.codedeploy import (
    ACTIVE_STATUSES,
    appspec_of,
    deployments_of_group,
    get_deployment,
    get_ecs_targets,
    group_view,
    retry_decorator,
    snapshot,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def describe(client, info, include_targets, cache):
    targets = get_ecs_targets(client, info["deploymentId"]) if include_targets else []
    rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    rollback = get_deployment(client, rollback_id) if rollback_id else None
    return snapshot(info, targets, rollback, appspec_of(client, info, cache))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            deployment_id=dict(type="str"),
            application_name=dict(type="str"),
            deployment_group_name=dict(type="str"),
            statuses=dict(
                type="list",
                elements="str",
                choices=[
                    "active",
                    "Created",
                    "Queued",
                    "InProgress",
                    "Baking",
                    "Ready",
                    "Succeeded",
                    "Failed",
                    "Stopped",
                ],
            ),
            max_results=dict(type="int", default=10),
            include_targets=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
        mutually_exclusive=[
            ("deployment_id", "application_name"),
            ("deployment_id", "deployment_group_name"),
        ],
        required_one_of=[("deployment_id", "deployment_group_name")],
        required_together=[("application_name", "deployment_group_name")],
    )
    params = module.params
    if params["max_results"] < 1:
        module.fail_json(msg=f"max_results must be at least 1, got {params['max_results']}")
    client = module.client("codedeploy", retry_decorator=retry_decorator())
    result = {"changed": False}
    try:
        if params["deployment_id"]:
            try:
                infos = [get_deployment(client, params["deployment_id"])]
            except client.exceptions.DeploymentDoesNotExistException:
                module.fail_json(msg=f"Deployment {params['deployment_id']} does not exist")
        else:
            try:
                group = client.get_deployment_group(
                    applicationName=params["application_name"],
                    deploymentGroupName=params["deployment_group_name"],
                    aws_retry=True,
                )["deploymentGroupInfo"]
            except (
                client.exceptions.DeploymentGroupDoesNotExistException,
                client.exceptions.ApplicationDoesNotExistException,
            ):
                module.fail_json(
                    msg=f"Deployment group {params['deployment_group_name']} of application "
                    f"{params['application_name']} "
                    "does not exist"
                )
            result["deployment_group"] = group_view(group)
            statuses = []
            for status in params["statuses"] or []:
                statuses.extend(ACTIVE_STATUSES if status == "active" else [status])
            infos = deployments_of_group(
                client,
                params["application_name"],
                params["deployment_group_name"],
                sorted(set(statuses)) or None,
                limit=params["max_results"],
            )
        appspecs = {}  # a revision deployed several times is read once
        result["deployments"] = [describe(client, info, params["include_targets"], appspecs) for info in infos]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to read deployments")
    module.exit_json(**result)


if __name__ == "__main__":
    main()

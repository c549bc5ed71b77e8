#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_deployment_info
short_description: Read an ECS-native service's deployments - one by ARN, or the latest or active ones
description:
  - Returns service deployments in the shape M(ecs_service_deployment) returns (status, stage, hooks, traffic,
    tasks, alarms, rollback), each with the task definition its target revision deploys, newest first; and the
    service's controller, strategy and current deployment. For the status and rollback playbooks (a rollback after a
    deployment redeploys the previous successful revision's task definition).
version_added: 0.2.0
author: ecs-bluegreen-ops maintainers
options:
  cluster:
    description: The ECS cluster.
    type: str
    required: true
  service:
    description: The ECS service.
    type: str
    required: true
  deployment_id:
    description: One service deployment, by ARN.
    type: str
    aliases: [service_deployment_arn]
  statuses:
    description:
      - Only deployments with these statuses.
      - V(active) is short for PENDING, IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS.
    type: list
    elements: str
    choices: [active, PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED,
              ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED]
  max_results:
    description: At most this many deployments (the newest; DescribeServiceDeployments takes 20 at a time).
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The last five deployments of the service
  ecs_service_deployment_info:
    cluster: orders-prod
    service: orders-prod
    max_results: 5
  register: history

- name: The revision to return to after a deployment
  ansible.builtin.set_fact:
    previous: "{{ history.deployments | selectattr('status', 'equalto', 'SUCCESSFUL') | list }}"
"""

RETURN = r"""
deployments:
  description: The deployments, newest first, each as M(ecs_service_deployment) reports one, with C(task_definition).
  returned: always
  type: list
  elements: dict
service:
  description: The service's deployment controller, strategy, task definition and current service deployment.
  returned: always
  type: dict
"""

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.codedeploy import retry_decorator
from ansible.module_utils.deployment_wait import iso
from ansible.module_utils.ecs_deployment import controller_of, describe_service, list_deployments
from ansible.module_utils.model.ecs import ACTIVE_STATUSES, snapshot
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

DESCRIBE_BATCH = 20  # DescribeServiceDeployments and DescribeServiceRevisions: at most 20 ARNs


def _chunks(items, size=DESCRIBE_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read(client, arns):
    """Snapshots of the deployments, each with its target revision's task definition and its times."""
    found = []
    for chunk in _chunks(arns):
        found.extend(
            client.describe_service_deployments(serviceDeploymentArns=chunk, aws_retry=True)["serviceDeployments"]
        )
    revisions = sorted({(d.get("targetServiceRevision") or {}).get("arn") for d in found} - {None})
    definitions = {}
    for chunk in _chunks(revisions):
        for revision in client.describe_service_revisions(serviceRevisionArns=chunk, aws_retry=True)[
            "serviceRevisions"
        ]:
            definitions[revision["serviceRevisionArn"]] = revision.get("taskDefinition")
    order = {arn: index for index, arn in enumerate(arns)}
    snaps = []
    for deployment in sorted(found, key=lambda d: order.get(d["serviceDeploymentArn"], len(order))):
        snap = snapshot(deployment)
        snap["task_definition"] = definitions.get(snap["target_revision_arn"])
        # As codedeploy_deployment_info names a deployment (the playbooks read either the same way).
        snap["deployment_id"] = snap["service_deployment_arn"]
        for key in ("createdAt", "startedAt", "finishedAt"):
            snap[key.replace("At", "_at").lower()] = iso(deployment.get(key))
        snaps.append(snap)
    return snaps


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        deployment_id=dict(type="str", aliases=["service_deployment_arn"]),
        statuses=dict(
            type="list",
            elements="str",
            choices=[
                "active",
                "PENDING",
                "IN_PROGRESS",
                "SUCCESSFUL",
                "STOPPED",
                "STOP_REQUESTED",
                "ROLLBACK_REQUESTED",
                "ROLLBACK_IN_PROGRESS",
                "ROLLBACK_SUCCESSFUL",
                "ROLLBACK_FAILED",
            ],
        ),
        max_results=dict(type="int", default=10),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[("deployment_id", "statuses")]
    )
    params = module.params
    if params["max_results"] < 1:
        module.fail_json(msg=f"max_results must be at least 1 (got {params['max_results']})")
    client = module.client("ecs", retry_decorator=retry_decorator())
    try:
        service = describe_service(client, params["cluster"], params["service"])
        if params["deployment_id"]:
            arns = [params["deployment_id"]]
        else:
            statuses = []
            for status in params["statuses"] or []:
                statuses.extend(ACTIVE_STATUSES if status == "active" else [status])
            briefs = list_deployments(client, params["cluster"], params["service"], sorted(set(statuses)) or None)
            arns = [b["serviceDeploymentArn"] for b in briefs][: params["max_results"]]
        deployments = read(client, arns)
    except LookupError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read the deployments of service {params['service']}")
    module.exit_json(
        changed=False,
        deployments=deployments,
        service={
            "controller": controller_of(service),
            "strategy": (service.get("deploymentConfiguration") or {}).get("strategy"),
            "task_definition": service.get("taskDefinition"),
            "current_service_deployment": service.get("currentServiceDeployment"),
            # Its whole deploymentConfiguration (hooks, alarms): a deployment with another traffic plan keeps the rest.
            "deployment_configuration": service.get("deploymentConfiguration") or {},
        },
    )


if __name__ == "__main__":
    main()

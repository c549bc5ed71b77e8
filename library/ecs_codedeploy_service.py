#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_codedeploy_service
short_description: Change what UpdateService may change on an existing ECS service with the CODE_DEPLOY controller
description:
  - On a service whose deployment controller is C(CODE_DEPLOY), ECS UpdateService accepts only the desired count,
    deployment configuration, health check grace period, placement constraints and strategy, managed tags and tag
    propagation (ECS API reference). The task definition, network configuration, platform version and load
    balancers change only through a CodeDeploy deployment, and ECS refuses a request that names them
    ("Unable to update task definition on services with a CODE_DEPLOY deployment controller").
  - M(community.aws.ecs_service) sends the task definition and network on every update, so it cannot change such
    a service; this module sends only the attributes given here that differ from the service's.
  - Creates nothing, the service must exist. A parameter left unset is not touched.
options:
  cluster:
    description: The cluster's name or ARN.
    type: str
    required: true
  service:
    description: The service's name or ARN.
    type: str
    required: true
  desired_count:
    description: Tasks the service runs.
    type: int
  health_check_grace_period_seconds:
    description: Seconds ECS ignores failing load balancer health checks of a new task.
    type: int
author: ecs-bluegreen-ops
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Four tasks, as the inventory says (a CODE_DEPLOY service keeps its task definition)
  ecs_codedeploy_service:
    cluster: orders-prod
    service: orders-prod
    desired_count: 4
    health_check_grace_period_seconds: 30
"""

RETURN = r"""
service:
  description: The service after the update (DescribeServices, snake_cased), or as it is when nothing changed.
  returned: always
  type: dict
changes:
  description: The attributes sent to UpdateService (API names), empty when nothing differed.
  returned: always
  type: dict
  sample: {"desiredCount": 4}
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Module option -> UpdateService parameter, for what a CODE_DEPLOY service accepts.
UPDATABLE = {"desired_count": "desiredCount", "health_check_grace_period_seconds": "healthCheckGracePeriodSeconds"}


def describe(module, client):
    params = module.params
    try:
        found = client.describe_services(cluster=params["cluster"], services=[params["service"]], aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to describe service {params['service']} in cluster {params['cluster']}")
    active = [s for s in found.get("services", []) if s.get("status") == "ACTIVE"]
    if not active:
        module.fail_json(
            msg=f"Service {params['service']} does not exist in cluster {params['cluster']}: create it first"
        )
    return active[0]


def changes_for(service, params):
    """The UpdateService parameters whose wanted value differs from the service's (pure, for tests). An attribute
    DescribeServices does not report (the AWS emulator never reports the grace period) cannot be compared and
    is left alone rather than re-sent on every run."""
    return {
        api: params[option]
        for option, api in UPDATABLE.items()
        if params.get(option) is not None and api in service and service[api] != params[option]
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            service=dict(type="str", required=True),
            desired_count=dict(type="int"),
            health_check_grace_period_seconds=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for option in UPDATABLE:
        if params[option] is not None and params[option] < 0:
            module.fail_json(msg=f"{option} must not be negative, got {params[option]}")
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    service = describe(module, client)
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "CODE_DEPLOY":
        module.fail_json(
            msg=f"Service {params['service']} uses the {controller} deployment controller, not CODE_DEPLOY: "
            "this module changes only CODE_DEPLOY services"
        )
    changes = changes_for(service, params)
    result = {"changed": bool(changes), "changes": changes}
    if module._diff:
        result["diff"] = {"before": {k: service.get(k) for k in changes}, "after": changes}
    if changes and not module.check_mode:
        try:
            service = client.update_service(
                cluster=params["cluster"], service=params["service"], aws_retry=True, **changes
            )["service"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to update service {params['service']}")
    result["service"] = camel_dict_to_snake_dict(service)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

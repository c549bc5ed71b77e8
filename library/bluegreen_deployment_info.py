#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bluegreen_deployment_info
short_description: Read a service's blue/green deployments, whichever controller runs them
description:
  - The service's deployments, newest first, in the shape M(bluegreen_deployment) returns one (the keys every
    controller's deployment has, and its controller's own), and the task definition production serves.
version_added: 0.3.0
author: ecs-bluegreen-ops maintainers
options:
  deployment_id:
    description: One deployment (a CodeDeploy id, or a service deployment ARN).
    type: str
  statuses:
    description:
      - Only deployments with these statuses, V(active) (not ended) or V(succeeded), or the controller's own
        status names.
    type: list
    elements: str
  max_results:
    description: At most this many deployments (the newest).
    type: int
    default: 10
  details:
    description:
      - Read each deployment's lifecycle events and task sets too (CodeDeploy - two more calls each), and where they
        run (RV(deployment_group) - one more call).
    type: bool
    default: true
extends_documentation_fragment:
  - bluegreen_deployments
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The service's active deployment, if any
  bluegreen_deployment_info:
    controller: "{{ bluegreen_controller }}"
    names: "{{ bluegreen_names }}"
    statuses: [active]
    details: false
  register: active
"""

RETURN = r"""
deployment_group:
  description: (CodeDeploy) the deployment group's configuration.
  returned: under the CodeDeploy controller, with O(details)
  type: dict
deployments:
  description: The deployments, newest first, each as RV(bluegreen_deployment.deployment).
  returned: always
  type: list
  elements: dict
serving:
  description: The task definition production serves (under CodeDeploy, known when O(statuses) is V(succeeded)).
  returned: always
  type: str
service:
  description: (ECS) the service's controller, strategy, task definition and current service deployment.
  returned: under the ECS controller
  type: dict
"""

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.controllers import CONTROLLERS, controller_of
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            controller=dict(type="str", choices=sorted(CONTROLLERS)),
            names=dict(type="dict", required=True),
            deployment_id=dict(type="str"),
            statuses=dict(type="list", elements="str"),
            max_results=dict(type="int", default=10),
            details=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
        mutually_exclusive=[("deployment_id", "statuses")],
    )
    params = module.params
    if params["max_results"] < 1:
        module.fail_json(msg=f"max_results must be at least 1, got {params['max_results']}")
    controller = CONTROLLERS[controller_of(module)](module, params["names"])
    try:
        if params["deployment_id"]:
            found = {"deployments": [controller.describe(params["deployment_id"], params["details"])], "serving": None}
        else:
            details = params["details"]
            found = controller.history(params["statuses"], params["max_results"], details, setting=details)
    except LookupError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read the deployments of {params['names'].get('name', '')}")
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()

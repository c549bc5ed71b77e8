#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: bluegreen_verify
short_description: Preflight of a blue/green deployment of one service, before anything changes
description:
  - Reads the environment and says, check by check, whether a CodeDeploy blue/green deployment of the service can
    succeed there, and what to fix. It checks the image (ECR), the secrets and parameters the task definition
    references, the network path of the tasks and the hook functions to the AWS APIs (NAT gateway or VPC endpoints), the
    hooks' path to the test and production listeners (following the load balancer's scheme and security
    groups), the production certificate against the production probe's hostname, each role's and the caller's
    permissions (C(iam:SimulatePrincipalPolicy) with the context their conditions need), the CodeDeploy and ECS
    state, the deployment config given, and the Fargate vCPU quota.
  - Every finding is C(ok), C(failed) (with the fix) or C(not checked) (said plainly, never counted as a pass).
    The module never fails on a finding, the playbook decides (playbooks/verify.yml).
  - Reads only, concurrently; the same in check mode. module_utils/verify/ has the checks, a file per kind.
options:
  names:
    description: The model's names of the service (the C(bluegreen_names) filter).
    type: dict
    required: true
  image_repository:
    description: The image repository (the inventory's C(ecs_service_image_repository)); empty for the serving task
      definition's.
    type: str
    default: ""
  image_tag:
    description: The tag this deployment would run; empty to skip the image check.
    type: str
    default: ""
  secrets:
    description: The secret and SSM parameter references of the task definition (names, partial or full ARNs).
    type: list
    elements: str
    default: []
  traffic:
    description:
      - The traffic plan this deployment would use, as the bluegreen_traffic_plan filter checks it (with its
        C(word) and C(codedeploy) config); empty to skip the check.
    type: dict
    default: {}
  controller:
    description: Who deploys the service (the inventory's C(bluegreen_controller)); V(ecs) checks the ECS controller's
      service, listener rules, roles and service deployments instead of CodeDeploy's.
    type: str
    choices: [codedeploy, ecs]
    default: codedeploy
  active_deployment_allowed:
    description: An active deployment is a note, not a failure (deploy.yml follows or replaces it itself).
    type: bool
    default: false
  iam_path:
    description: The roles' IAM path.
    type: str
    default: /
  kms_key_arns:
    description: Customer managed KMS keys of the secrets (the iam role's C(iam_kms_key_arns)).
    type: list
    elements: str
    default: []
  task_statements:
    description: The task role's own statements (the iam role's C(iam_task_policy_statements)).
    type: list
    elements: dict
    default: []
  access:
    description:
      - The caller's access (C(deploy), C(operate), ...), whose operator policy's statements are simulated for
        the caller. Empty skips the caller's simulation.
    type: str
    default: ""
author: ecs-bluegreen-ops
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Preflight
  bluegreen_verify:
    names: "{{ bluegreen_names }}"
    image_repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders
    image_tag: 1.4.2
    secrets: [orders-prod/api-token]
  register: verify
"""

RETURN = r"""
findings:
  description: Each finding (check, subject, status ok / failed / not checked, message, fix).
  returned: always
  type: list
  elements: dict
lines:
  description: Each finding as one line, for the log.
  returned: always
  type: list
  elements: str
counts:
  description: How many findings of each status.
  returned: always
  type: dict
seconds:
  description: How long the checks took.
  returned: always
  type: float
"""

import time

from ansible.module_utils.verify import Verify, summary
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            names=dict(type="dict", required=True),
            image_repository=dict(type="str", default=""),
            image_tag=dict(type="str", default=""),
            secrets=dict(type="list", elements="str", default=[]),
            traffic=dict(type="dict", default={}),
            controller=dict(type="str", choices=["codedeploy", "ecs"], default="codedeploy"),
            active_deployment_allowed=dict(type="bool", default=False),
            iam_path=dict(type="str", default="/"),
            kms_key_arns=dict(type="list", elements="str", default=[]),
            task_statements=dict(type="list", elements="dict", default=[]),
            access=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    clients = {}

    def client(service, region=None):
        # One client per service and region, made before the checks' threads share it (boto3 clients are
        # thread-safe; making them is not).
        key = (service, region)
        if key not in clients:
            clients[key] = module.client(service, **({"region": region} if region else {}))
        return clients[key]

    for service in (
        "sts",
        "codedeploy",
        "ecs",
        "elbv2",
        "lambda",
        "logs",
        "ec2",
        "secretsmanager",
        "ssm",
        "iam",
        "acm",
        "ecr",
        "service-quotas",
    ):
        client(service)
    params = dict(module.params, region=module.region)
    started = time.monotonic()
    try:
        findings = Verify(client, params).run()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="The preflight could not read the environment")
    module.exit_json(changed=False, seconds=round(time.monotonic() - started, 2), **summary(findings))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_appspec
short_description: Render the AppSpec of an ECS blue/green deployment
description:
  - Validates its inputs and renders the AppSpec that a CodeDeploy ECS deployment takes, as JSON and
    YAML, with the sha256 of the content.
  - The JSON form is what M(bluegreen_deployment) sends; the hook Lambdas read it with the standard
    library alone.
  - Makes no AWS call. With O(dest), writes the file only when its content differs.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  task_definition_arn:
    description: ARN of the task definition revision to deploy, with its revision number.
    type: str
    required: true
  container_name:
    description: The container in the task definition that receives load balancer traffic.
    type: str
    required: true
  container_port:
    description: The port of that container that the target groups send traffic to.
    type: int
    required: true
  platform_version:
    description: Fargate platform version (V(LATEST) or a version such as V(1.4.0)). Unset leaves it out.
    type: str
  network_configuration:
    description:
      - awsvpc network settings of the replacement task set. CodeDeploy takes all three or none;
        none keeps the service's current network settings.
    type: dict
    suboptions:
      subnets:
        description: Subnet ids (1 to 16).
        type: list
        elements: str
      security_groups:
        description: Security group ids (1 to 5).
        type: list
        elements: str
      assign_public_ip:
        description: Whether the tasks' network interfaces get a public IP.
        type: str
        choices: [ENABLED, DISABLED]
  capacity_provider_strategy:
    description: Capacity providers of the replacement task set.
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Name of the capacity provider, for example V(FARGATE) or V(FARGATE_SPOT).
        type: str
        required: true
      base:
        description: Tasks to run on this provider before weights apply (only one provider may have one).
        type: int
        default: 0
      weight:
        description: Relative share of tasks on this provider.
        type: int
        default: 1
  hooks:
    description:
      - Lifecycle event to Lambda function name or ARN. Only V(BeforeInstall), V(AfterInstall),
        V(AfterAllowTestTraffic), V(BeforeAllowTraffic) and V(AfterAllowTraffic) accept hooks.
      - Rendered in the order the events run, whatever the order given.
    type: dict
    default: {}
  format:
    description: Format of RV(content) and of the O(dest) file.
    type: str
    choices: [json, yaml]
    default: json
  dest:
    description: Write the AppSpec to this file (created or replaced only when it differs).
    type: path
  mode:
    description: File mode of O(dest).
    type: raw
    default: "0644"
notes:
  - Supports check mode and diff mode (for O(dest)).
"""

EXAMPLES = r"""
- name: Render the AppSpec of the new revision
  ecs_appspec:
    task_definition_arn: "{{ task_definition.taskdefinition.taskDefinitionArn }}"
    container_name: web
    container_port: 8000
    platform_version: LATEST
    network_configuration:
      subnets: "{{ private_subnet_ids }}"
      security_groups: ["{{ service_security_group_id }}"]
      assign_public_ip: DISABLED
    hooks:
      BeforeInstall: orders-validate-before-install
      AfterAllowTestTraffic: orders-validate-test-traffic
      BeforeAllowTraffic: orders-run-migrations
  register: appspec

- name: Keep a copy next to the deployment record
  ecs_appspec:
    task_definition_arn: arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:42
    container_name: web
    container_port: 8000
    format: yaml
    dest: /var/tmp/orders-appspec.yaml
"""

RETURN = r"""
appspec:
  description: The AppSpec as a dictionary.
  returned: always
  type: dict
  sample: {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {}}}]}
content:
  description: The AppSpec in the chosen O(format).
  returned: always
  type: str
sha256:
  description: SHA-256 of RV(content), as CodeDeploy's C(appSpecContent.sha256) takes it.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
json:
  description: The AppSpec as JSON.
  returned: always
  type: str
yaml:
  description: The AppSpec as YAML.
  returned: always
  type: str
dest:
  description: The file written, when O(dest) was given.
  returned: when O(dest) is set
  type: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.codedeploy.appspec import AppSpecError, build_appspec, render_json, render_yaml, sha256


def write_if_changed(module, dest, content):
    """Returns (changed, diff). Writes atomically; honours check mode."""
    before = ""
    if os.path.exists(dest):
        with open(dest, encoding="utf-8") as handle:
            before = handle.read()
    diff = {"before_header": dest, "after_header": dest, "before": before, "after": content}
    if before == content:
        changed = False
    else:
        changed = True
        if not module.check_mode:
            directory = os.path.dirname(os.path.abspath(dest))
            if not os.path.isdir(directory):
                module.fail_json(msg=f"dest {dest}: directory {directory} does not exist; create it first")
            handle, tmp = tempfile.mkstemp(dir=directory, prefix=".appspec-")
            with os.fdopen(handle, "w", encoding="utf-8") as tmp_file:
                tmp_file.write(content)
            module.atomic_move(tmp, dest)
    file_args = module.load_file_common_arguments({"path": dest, "mode": module.params["mode"]})
    if not module.check_mode or os.path.exists(dest):
        changed = module.set_fs_attributes_if_different(file_args, changed, diff=None)
    return changed, diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            task_definition_arn=dict(type="str", required=True),
            container_name=dict(type="str", required=True),
            container_port=dict(type="int", required=True),
            platform_version=dict(type="str"),
            network_configuration=dict(
                type="dict",
                options=dict(
                    subnets=dict(type="list", elements="str"),
                    security_groups=dict(type="list", elements="str"),
                    assign_public_ip=dict(type="str", choices=["ENABLED", "DISABLED"]),
                ),
            ),
            capacity_provider_strategy=dict(
                type="list",
                elements="dict",
                options=dict(
                    capacity_provider=dict(type="str", required=True),
                    base=dict(type="int", default=0),
                    weight=dict(type="int", default=1),
                ),
            ),
            hooks=dict(type="dict", default={}),
            format=dict(type="str", choices=["json", "yaml"], default="json"),
            dest=dict(type="path"),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        appspec = build_appspec(
            task_definition_arn=params["task_definition_arn"],
            container_name=params["container_name"],
            container_port=params["container_port"],
            platform_version=params["platform_version"],
            network_configuration=params["network_configuration"],
            capacity_provider_strategy=params["capacity_provider_strategy"],
            hooks=params["hooks"],
        )
    except AppSpecError as exc:
        module.fail_json(msg=f"Invalid AppSpec input: {exc}")

    as_json, as_yaml = render_json(appspec), render_yaml(appspec)
    content = as_json if params["format"] == "json" else as_yaml
    result = dict(changed=False, appspec=appspec, content=content, sha256=sha256(content), json=as_json, yaml=as_yaml)
    if params["dest"]:
        result["changed"], diff = write_if_changed(module, params["dest"], content)
        result["dest"] = params["dest"]
        if module._diff:
            result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()

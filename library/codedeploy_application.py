#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_application
short_description: Manage an AWS CodeDeploy application
description:
  - Creates or deletes a CodeDeploy application and manages its tags.
  - An application's compute platform cannot change; asking for another one is an error.
  - Deleting an application deletes its deployment groups too.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  name:
    description: Name of the application.
    type: str
    required: true
    aliases: [application_name]
  state:
    description: Whether the application exists.
    type: str
    choices: [present, absent]
    default: present
  compute_platform:
    description: The compute platform of its deployments.
    type: str
    choices: [ECS, Server, Lambda]
    default: ECS
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: The application of the orders service
  codedeploy_application:
    name: orders
    tags:
      service: orders
      environment: prod

- name: Remove it (and its deployment groups)
  codedeploy_application:
    name: orders
    state: absent
"""

RETURN = r"""
application:
  description: The application.
  returned: when it exists
  type: dict
  contains:
    application_id:
      description: Its id.
      type: str
    application_name:
      description: Its name.
      type: str
    compute_platform:
      description: ECS, Server or Lambda.
      type: str
    create_time:
      description: When it was created.
      type: str
    tags:
      description: Its tags.
      type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.aws import iso, retry_decorator
from ansible.module_utils.codedeploy.tags import ensure_tags, resource_arn, tag_list
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def get_application(module, client, name):
    try:
        return client.get_application(applicationName=name, aws_retry=True)["application"]
    except client.exceptions.ApplicationDoesNotExistException:
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to get application {name}")


def view(info, tags):
    shown = camel_dict_to_snake_dict({k: iso(v) for k, v in info.items()})
    shown["tags"] = tags
    return shown


def ensure_absent(module, client, name):
    existing = get_application(module, client, name)
    if existing is None:
        module.exit_json(changed=False)
    if not module.check_mode:
        try:
            client.delete_application(applicationName=name, aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to delete application {name}")
    module.exit_json(changed=True, diff={"before": {"application_name": name}, "after": {}})


def ensure_present(module, client, name):
    params = module.params
    existing = get_application(module, client, name)
    if existing is None:
        if module.check_mode:
            module.exit_json(changed=True, diff={"before": {}, "after": {"application_name": name}})
        request = {"applicationName": name, "computePlatform": params["compute_platform"]}
        if params["tags"]:
            request["tags"] = tag_list(params["tags"])
        try:
            client.create_application(aws_retry=True, **request)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to create application {name}")
        created = get_application(module, client, name)
        module.exit_json(changed=True, application=view(created, params["tags"] or {}))

    if existing.get("computePlatform") != params["compute_platform"]:
        module.fail_json(
            msg=f"Application {name} exists with compute platform {existing.get('computePlatform')}, not "
            f"{params['compute_platform']}: CodeDeploy cannot change it. Delete the application "
            "(state=absent) and create it again, or use another name."
        )
    arn = resource_arn(module, "application", name)
    try:
        changed, before_tags, tags = ensure_tags(module, client, arn, params["tags"], params["purge_tags"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to update the tags of application {name}")
    result = {"changed": changed, "application": view(existing, tags)}
    if changed and module._diff:
        result["diff"] = {"before": {"tags": before_tags}, "after": {"tags": tags}}
    module.exit_json(**result)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["application_name"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            compute_platform=dict(type="str", choices=["ECS", "Server", "Lambda"], default="ECS"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not 1 <= len(name) <= 100:
        module.fail_json(msg=f"name must be 1 to 100 characters, got {len(name)}")
    client = module.client("codedeploy", retry_decorator=retry_decorator())
    if module.params["state"] == "absent":
        ensure_absent(module, client, name)
    ensure_present(module, client, name)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_arns
short_description: Resolve Secrets Manager secret names and partial ARNs to their full ARNs
description:
  - A Secrets Manager secret's ARN ends with C(-) and six random characters. IAM matches the full ARN, and the
    ECS task definition's C(valueFrom) needs it, so a policy or task definition written with a name or a
    partial ARN (without the suffix) is denied at run time (ResourceInitializationError).
  - Each reference is looked up with DescribeSecret (never GetSecretValue, no value is read) and returned as the
    secret's full ARN, keeping a C(json-key/version-stage/version-id) suffix when the reference has one. SSM
    parameter ARNs are returned as they are (they have no random suffix).
  - Reads only, and the same in check mode.
options:
  references:
    description:
      - Secret names (C(orders-prod/database-password)), partial or full secret ARNs, optionally with a JSON key
        suffix as ECS accepts it, or SSM parameter ARNs.
    type: list
    elements: str
    required: true
author: ecs-bluegreen-ops
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The full ARNs of the task's secrets
  secret_arns:
    references:
      - orders-prod/database-password
      - arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-prod/api
  register: secrets
"""

RETURN = r"""
arns:
  description: Each reference, in order, as a full ARN.
  returned: always
  type: list
  elements: str
by_reference:
  description: Reference -> full ARN.
  returned: always
  type: dict
secret_arns:
  description: The full ARNs of the secrets themselves (without JSON key suffixes), for IAM statements.
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# arn:partition:secretsmanager:region:account:secret:name[:json-key:version-stage:version-id]
ARN_PARTS = 7


def split_reference(reference):
    """(secret id to look up, the name inside it, the ECS suffix after it) of a reference (pure, for tests)."""
    if reference.startswith("arn:") and reference.split(":")[2:3] == ["secretsmanager"]:
        parts = reference.split(":")
        secret_id = ":".join(parts[:ARN_PARTS])
        suffix = ":".join(parts[ARN_PARTS:])
        return secret_id, parts[ARN_PARTS - 1], (":" + suffix) if suffix else ""
    return reference, reference, ""


def describe(module, client, secret_id):
    return client.describe_secret(SecretId=secret_id, aws_retry=True)["ARN"]


def resolve(module, client, reference):
    if reference.startswith("arn:") and reference.split(":")[2:3] == ["ssm"]:
        return reference, None
    secret_id, name, suffix = split_reference(reference)
    try:
        try:
            arn = describe(module, client, secret_id)
        except is_boto3_error_code("ResourceNotFoundException"):
            if secret_id == name:
                raise
            # A partial ARN that Secrets Manager did not match: look the name up.
            arn = describe(module, client, name)
    except is_boto3_error_code("ResourceNotFoundException"):
        module.fail_json(
            msg=f"Secret {reference!r} does not exist in Secrets Manager (region {module.region}): create it, "
            "or correct the name in the inventory"
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Unable to describe secret {reference!r}")
    return arn + suffix, arn


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(references=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    arns, by_reference, secret_arns = [], {}, []
    for reference in module.params["references"]:
        full, secret_arn = resolve(module, client, reference)
        arns.append(full)
        by_reference[reference] = full
        if secret_arn and secret_arn not in secret_arns:
            secret_arns.append(secret_arn)
    module.exit_json(changed=False, arns=arns, by_reference=by_reference, secret_arns=secret_arns)


if __name__ == "__main__":
    main()

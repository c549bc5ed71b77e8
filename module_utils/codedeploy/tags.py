# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tags of CodeDeploy applications and deployment groups, which the API addresses by ARN."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.iam import get_aws_account_info
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)


def resource_arn(module, kind, name):
    """arn:<partition>:codedeploy:<region>:<account>:application:<app> or ...:deploymentgroup:<app>/<group>."""
    account_id, partition = get_aws_account_info(module)
    return f"arn:{partition}:codedeploy:{module.region}:{account_id}:{kind}:{name}"


def current_tags(client, arn):
    response = client.list_tags_for_resource(ResourceArn=arn, aws_retry=True)
    return boto3_tag_list_to_ansible_dict(response.get("Tags", []))


def ensure_tags(module, client, arn, desired, purge):
    """Returns (changed, tags before, tags after). `desired=None` leaves tags alone."""
    before = current_tags(client, arn)
    if desired is None:
        return False, before, before
    to_set, to_remove = compare_aws_tags(before, desired, purge_tags=purge)
    if not to_set and not to_remove:
        return False, before, before
    if not module.check_mode:
        if to_remove:
            client.untag_resource(ResourceArn=arn, TagKeys=to_remove, aws_retry=True)
        if to_set:
            client.tag_resource(ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)
    after = {k: v for k, v in before.items() if k not in to_remove}
    after.update(to_set)
    return True, before, after


def tag_list(tags):
    return ansible_dict_to_boto3_tag_list(tags or {})

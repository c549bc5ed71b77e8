#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_alarms
short_description: Converge a set of CloudWatch metric alarms, metric math ones included, and delete retired ones
description:
  - Each alarm is given as its PutMetricAlarm request (boto3 names). An alarm that does not exist is created; one
    whose settings differ from the request in any field the request sets is updated (PutMetricAlarm replaces its
    configuration and leaves its state as it is); one that matches is left alone. The names in O(absent) are
    deleted when they exist.
  - Why not C(amazon.aws.cloudwatch_metric_alarm) - it leaves C(Metrics) out of its comparison, so an alarm in
    metric math is rewritten and reported changed on every run, and a run that changes nothing cannot be told
    from one that does.
  - Check mode predicts (the same comparison, nothing written); diff mode shows each changed field.
options:
  alarms:
    description: PutMetricAlarm requests, each with at least C(AlarmName).
    type: list
    elements: dict
    required: true
  absent:
    description: Names of alarms to delete if they exist.
    type: list
    elements: str
    default: []
author: ecs-bluegreen-ops
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The service's alarms
  cloudwatch_alarms:
    alarms: "{{ bluegreen_names | bluegreen_alarm_specs(load_balancer_suffix, target_group_suffixes) }}"
    absent: [orders-prod-target-5xx-blue, orders-prod-target-5xx-green]
"""

RETURN = r"""
created:
  description: Names of the alarms created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: Name -> the fields that differed, for each alarm updated.
  returned: always
  type: dict
deleted:
  description: Names of the alarms deleted.
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.aws import retry_decorator
from ansible.module_utils.model.alarms import differences
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def existing_alarms(client, names):
    """name -> DescribeAlarms' MetricAlarm, for the names that exist (at most 100 names per call)."""
    found = {}
    for first in range(0, len(names), 100):
        paginator = client.get_paginator("describe_alarms")
        pages = paginator.paginate(AlarmNames=names[first : first + 100], AlarmTypes=["MetricAlarm"])
        for alarm in pages.build_full_result().get("MetricAlarms", []):
            found[alarm["AlarmName"]] = alarm
    return found


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "alarms": {"type": "list", "elements": "dict", "required": True},
            "absent": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    alarms, absent = module.params["alarms"], module.params["absent"]
    missing_names = [i for i, a in enumerate(alarms) if not a.get("AlarmName")]
    if missing_names:
        module.fail_json(msg=f"alarms[{missing_names[0]}] has no AlarmName: each item is a PutMetricAlarm request")
    overlap = sorted({a["AlarmName"] for a in alarms} & set(absent))
    if overlap:
        module.fail_json(msg=f"{overlap} are both wanted (alarms) and to be deleted (absent): keep them in one list")
    client = module.client("cloudwatch", retry_decorator=retry_decorator())
    try:
        found = existing_alarms(client, [a["AlarmName"] for a in alarms] + list(absent))
        created, updated, before, after = [], {}, {}, {}
        for alarm in alarms:
            name = alarm["AlarmName"]
            changed = differences(found.get(name), alarm)
            if not changed:
                continue
            if name in found:
                updated[name] = changed
                before[name] = {k: found[name].get(k) for k in changed}
                after[name] = {k: alarm.get(k) for k in changed}
            else:
                created.append(name)
                after[name] = alarm
            if not module.check_mode:
                client.put_metric_alarm(**alarm)
        deleted = [name for name in absent if name in found]
        if deleted and not module.check_mode:
            client.delete_alarms(AlarmNames=deleted)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to converge the CloudWatch alarms")
    result = {
        "changed": bool(created or updated or deleted),
        "created": created,
        "updated": updated,
        "deleted": deleted,
    }
    if module._diff:
        result["diff"] = {"before": {**before, **dict.fromkeys(deleted, "present")}, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

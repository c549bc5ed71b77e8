#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bluegreen_listener_rule
short_description: The listener rule the ECS controller shifts a service's traffic with, made once
description:
  - Makes sure a listener has a rule forwarding every request to a service's target group pair, the first group
    at weight 100 and the second at 0 (ECS-native blue/green moves these weights; the ECS developer guide requires
    both target groups behind the production or test listener rule).
  - A rule of the listener that already forwards to either group of the pair is the rule, whatever its weights
    (ECS owns them after the first deployment); nothing is changed and its ARN is returned. So it is safe to run
    again at any time, during a deployment too.
  - M(amazon.aws.elb_application_lb) manages a listener's rules only together with the listener and all its other
    rules (and, on a new load balancer, looks its listeners up before creating them); this module touches one rule.
  - Supports check mode (predicts whether a rule would be created).
version_added: 0.2.0
author: ecs-bluegreen-ops maintainers
options:
  listener_arn:
    description: The listener (production or test).
    type: str
    required: true
  target_group_arns:
    description: The pair, the group that serves now first (weight 100), the other second (weight 0).
    type: list
    elements: str
    required: true
  priority:
    description: The rule's priority (1-50000) when it is created; lower is evaluated first.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The production listener's rule, forwarding to the group that serves now
  bluegreen_listener_rule:
    listener_arn: "{{ load_balancer_result.prod_listener_arn }}"
    target_group_arns: ["{{ serving }}", "{{ other }}"]
  register: production_rule
"""

RETURN = r"""
rule_arn:
  description: The rule's ARN, or C((created by this run)) in check mode when it would be created.
  returned: always
  type: str
created:
  description: Whether the rule was (or, in check mode, would be) created.
  returned: always
  type: bool
"""

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.listener_rules import pair_rule
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

PREDICTED = "(created by this run)"


def rule_request(params):
    serving, other = params["target_group_arns"]
    return {
        "ListenerArn": params["listener_arn"],
        "Priority": params["priority"],
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": serving, "Weight": 100},
                        {"TargetGroupArn": other, "Weight": 0},
                    ]
                },
            }
        ],
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            listener_arn=dict(type="str", required=True),
            target_group_arns=dict(type="list", elements="str", required=True),
            priority=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if len(params["target_group_arns"]) != 2 or len(set(params["target_group_arns"])) != 2:
        module.fail_json(msg=f"target_group_arns must name the pair's two groups; got {params['target_group_arns']}")
    if not 1 <= params["priority"] <= 50000:
        module.fail_json(msg=f"priority is {params['priority']}: a listener rule's priority is 1 to 50000")
    client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        rules = (
            client.get_paginator("describe_rules")
            .paginate(ListenerArn=params["listener_arn"])
            .build_full_result()["Rules"]
        )
        found = pair_rule(rules, params["target_group_arns"])
        if found is not None:
            module.exit_json(changed=False, created=False, rule_arn=found["RuleArn"])
        if module.check_mode:
            module.exit_json(changed=True, created=True, rule_arn=PREDICTED)
        created = client.create_rule(aws_retry=True, **rule_request(params))["Rules"][0]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read or create the rules of listener {params['listener_arn']}")
    module.exit_json(changed=True, created=True, rule_arn=created["RuleArn"])


if __name__ == "__main__":
    main()

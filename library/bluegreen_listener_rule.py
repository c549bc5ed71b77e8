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
  - With I(state=absent), for the way back to CodeDeploy (playbooks/migrate_controller.yml), the listener's
    default action first forwards every request to the first group of the pair (the one the rule serves), then
    each rule forwarding to the pair is deleted. Traffic goes where it went, now through the default action
    CodeDeploy moves. Refused, changing nothing, while a rule gives any weight to the second group (a deployment
    is shifting, or the pair is given in the wrong order), since removing it would move that traffic.
  - Supports check mode (predicts whether a rule would be created, or what the removal would change).
version_added: 0.2.0
author: ecs-bluegreen-ops maintainers
options:
  listener_arn:
    description: The listener (production or test).
    type: str
    required: true
  target_group_arns:
    description:
      - The pair, the group that serves now first (weight 100), the other second (weight 0).
      - With I(state=absent), the first is the group the listener's default action forwards to afterwards.
    type: list
    elements: str
    required: true
  priority:
    description: The rule's priority (1-50000) when it is created; lower is evaluated first.
    type: int
    default: 10
  state:
    description: C(present) makes the rule once; C(absent) hands its traffic to the default action and deletes it.
    type: str
    choices: [present, absent]
    default: present
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

- name: The way back to CodeDeploy - the default action forwards to the serving group, the rule goes
  bluegreen_listener_rule:
    listener_arn: "{{ load_balancer_result.prod_listener_arn }}"
    target_group_arns: ["{{ serving }}", "{{ other }}"]
    state: absent
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
removed_rule_arns:
  description: The rules forwarding to the pair that were (or, in check mode, would be) deleted.
  returned: when state is absent
  type: list
default_action_changed:
  description: Whether the listener's default action was (or would be) pointed at the first group of the pair.
  returned: when state is absent
  type: bool
"""

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.model.listener_rules import forwarded_to, only_to, pair_rule, weights
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


def retirement(listener, rules, params):
    """What removing the pair's rules changes (pure, for tests): {default_action_changed, removed_rule_arns}, or
    {error} when a rule still sends traffic to the second group."""
    serving, other = params["target_group_arns"]
    doomed = [r for r in rules if not r.get("IsDefault") and forwarded_to(r) & {serving, other}]
    for rule in doomed:
        moving = weights(rule.get("Actions") or []).get(other, 0)
        if moving > 0:
            return {
                "error": (
                    f"Nothing changed: listener rule {rule['RuleArn']} still forwards weight {moving} to {other}. "
                    "A deployment is shifting traffic (wait for it to end, or roll it back), or the pair was given "
                    "in the wrong order (the group that serves first)."
                )
            }
    return {
        "default_action_changed": not only_to(listener.get("DefaultActions") or [], serving),
        "removed_rule_arns": [r["RuleArn"] for r in doomed],
    }


def retire(module, client, rules):
    """state=absent: the default action forwards to the serving group first, then the pair's rules go."""
    params = module.params
    try:
        (listener,) = client.describe_listeners(ListenerArns=[params["listener_arn"]], aws_retry=True)["Listeners"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read listener {params['listener_arn']}")
    plan = retirement(listener, rules, params)
    if "error" in plan:
        module.fail_json(msg=plan["error"])
    changed = plan["default_action_changed"] or bool(plan["removed_rule_arns"])
    if module.check_mode or not changed:
        module.exit_json(changed=changed, created=False, rule_arn="", **plan)
    try:
        if plan["default_action_changed"]:
            client.modify_listener(
                ListenerArn=params["listener_arn"],
                DefaultActions=[{"Type": "forward", "TargetGroupArn": params["target_group_arns"][0]}],
                aws_retry=True,
            )
        for arn in plan["removed_rule_arns"]:
            client.delete_rule(RuleArn=arn, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to hand listener {params['listener_arn']}'s rule to its default action")
    module.exit_json(changed=True, created=False, rule_arn="", **plan)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            listener_arn=dict(type="str", required=True),
            target_group_arns=dict(type="list", elements="str", required=True),
            priority=dict(type="int", default=10),
            state=dict(type="str", choices=["present", "absent"], default="present"),
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
        if params["state"] == "absent":
            retire(module, client, rules)
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

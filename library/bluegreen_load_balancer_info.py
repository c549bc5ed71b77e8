#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: bluegreen_load_balancer_info
short_description: The load balancer of a blue/green service as the other roles need it, and what differs
description:
  - Reads an Application Load Balancer, its listeners and its blue and green target groups, and returns what the
    lambda hooks, observability and CodeDeploy roles are passed - the production and test listeners' ARNs (found by
    port) and URLs, the target groups' ARNs and CloudWatch dimensions, the load balancer's dimension - and each
    target group setting that differs from the inventory.
  - Any error reading them fails the task. A throttled read must never look like "not there", or the load balancer
    role would re-send its listeners and could point production back at an empty target group. A load balancer
    or target group that does not exist is not an error - in check mode on a new environment, its values are
    C((created by this run)) - but a load balancer without the production or the test listener is, with the fix.
  - M(amazon.aws.elb_application_lb_info) crashes on a named load balancer that does not exist (amazon.aws 10.1) and
    M(community.aws.elb_target_group) has no check mode, so a drift check could not see a target group changed by
    hand, hence this module.
options:
  name:
    description: The load balancer's name.
    type: str
    required: true
  target_group_names:
    description: The blue and green target groups, in that order.
    type: list
    elements: str
    required: true
  prod_port:
    description: Port of the production listener.
    type: int
    required: true
  test_port:
    description: Port of the test listener.
    type: int
    required: true
  https:
    description: Whether the production listener is HTTPS (its URL's scheme).
    type: bool
    default: false
  listener_rules:
    description:
      - Also find the production and test listener rules that forward to the target group pair (the ECS
        controller shifts traffic with them). An existing load balancer without them is an error, with the fix.
    type: bool
    default: false
  serving_from_rules:
    description:
      - Read the production listener's rules without requiring them, so that I(serving_target_group_arn) comes from
        a rule to the pair when there is one (the way back to CodeDeploy, which removes them).
    type: bool
    default: false
  target_group_settings:
    description:
      - What the inventory says of each target group, by the key M(community.aws.elb_target_group_info) returns
        (e.g. health_check_path, health_check_interval_seconds, port); each difference is returned in C(drift).
    type: dict
    default: {}
author: ecs-bluegreen-ops
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The listeners and target groups the other roles use
  bluegreen_load_balancer_info:
    name: orders-prod
    target_group_names: [orders-prod-blue, orders-prod-green]
    prod_port: 443
    test_port: 8443
    https: true
    target_group_settings: {health_check_path: /ready, deregistration_delay_timeout_seconds: 20}
  register: balancer
"""

RETURN = r"""
exists:
  description: Whether the load balancer exists.
  returned: always
  type: bool
arn:
  description: The load balancer's ARN, or C((created by this run)).
  returned: always
  type: str
arn_suffix:
  description: The LoadBalancer dimension of its CloudWatch metrics (app/<name>/<id>).
  returned: always
  type: str
dns_name:
  description: Its DNS name.
  returned: always
  type: str
prod_listener_arn:
  description: The production listener (by port).
  returned: always
  type: str
test_listener_arn:
  description: The test listener (by port).
  returned: always
  type: str
prod_url:
  description: http(s)://<dns name>:<production port>.
  returned: always
  type: str
test_url:
  description: http://<dns name>:<test port>.
  returned: always
  type: str
target_group_arns:
  description: The blue and green target groups' ARNs, in the order given.
  returned: always
  type: list
target_group_arn_suffixes:
  description: Their TargetGroup dimension (targetgroup/<name>/<id>).
  returned: always
  type: list
prod_rule_arn:
  description: The production listener's rule that forwards to the pair, or C((created by this run)).
  returned: when listener_rules
  type: str
test_rule_arn:
  description: The test listener's rule that forwards to the pair, or C((created by this run)).
  returned: when listener_rules
  type: str
serving_target_group_arn:
  description:
    - The target group production is served from - the one the production listener's rule to the pair gives the
      most weight (read with I(listener_rules) or I(serving_from_rules), the ECS controller), else the one its
      default action forwards to (CodeDeploy's).
    - C((created by this run)) when there is no production listener yet.
  returned: always
  type: str
drift:
  description: Each target group setting that differs from target_group_settings, as a sentence.
  returned: always
  type: list
  sample: ["orders-prod-blue: health_check_path is /health, the inventory says /ready"]
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.model.listener_rules import pair_rule, served_from
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

PREDICTED = "(created by this run)"


def summarize(balancer, listeners, target_groups, params):
    """What the module returns, from what was read (pure, for tests). `balancer` is None when it does not
    exist; `target_groups` maps each name to DescribeTargetGroups' entry, absent when it does not exist."""
    dns = balancer["DNSName"] if balancer else PREDICTED
    by_port = {listener["Port"]: listener["ListenerArn"] for listener in listeners}
    arns = [
        target_groups[name]["TargetGroupArn"] if name in target_groups else PREDICTED
        for name in params["target_group_names"]
    ]
    return {
        "exists": balancer is not None,
        "arn": balancer["LoadBalancerArn"] if balancer else PREDICTED,
        "arn_suffix": balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[1] if balancer else PREDICTED,
        "dns_name": dns,
        "prod_listener_arn": by_port.get(params["prod_port"], PREDICTED),
        "test_listener_arn": by_port.get(params["test_port"], PREDICTED),
        "prod_url": f"{'https' if params['https'] else 'http'}://{dns}:{params['prod_port']}",
        "test_url": f"http://{dns}:{params['test_port']}",
        "target_group_arns": arns,
        "target_group_arn_suffixes": [arn.rsplit(":", 1)[-1] if arn != PREDICTED else PREDICTED for arn in arns],
        "drift": drift(target_groups, params),
    }


def missing_listeners(balancer, listeners, params):
    """The error when an existing load balancer lacks a listener (None when both are there)."""
    if balancer is None:
        return None
    ports = sorted(listener["Port"] for listener in listeners)
    if params["prod_port"] in ports and params["test_port"] in ports:
        return None
    return (
        f"{params['name']} has listeners on {ports}; expected {params['prod_port']} (production) and "
        f"{params['test_port']} (test). Listeners are only created with the load balancer: add the missing one by "
        "hand, forwarding where production forwards"
    )


def pair_rules(rules_by_listener, summary):
    """{prod_rule_arn, test_rule_arn}: on each listener, the first (by priority) non-default rule forwarding to
    the target group pair; PREDICTED where the load balancer or the rule is not there."""
    pair = set(summary["target_group_arns"]) - {PREDICTED}
    found = {}
    for key, listener in (("prod_rule_arn", "prod_listener_arn"), ("test_rule_arn", "test_listener_arn")):
        rule = pair_rule(rules_by_listener.get(summary[listener], []), pair)
        found[key] = rule["RuleArn"] if rule else PREDICTED
    return found


def serving_group(listeners, rules_by_listener, summary):
    """The group production is served from: the production listener's rule to the pair, else its default action."""
    listener = next((item for item in listeners if item["ListenerArn"] == summary["prod_listener_arn"]), None)
    if listener is None:
        return PREDICTED
    found = served_from(listener, rules_by_listener.get(listener["ListenerArn"], []), summary["target_group_arns"])
    return found or PREDICTED


def missing_rules(balancer, rules, params):
    """The error when an existing load balancer lacks a listener rule to the pair (None when both are there)."""
    if balancer is None:
        return None
    missing = [key.split("_")[0] for key in ("prod_rule_arn", "test_rule_arn") if rules[key] == PREDICTED]
    if not missing:
        return None
    return (
        f"{params['name']} has no listener rule forwarding to {' and '.join(params['target_group_names'])} on its "
        f"{' and '.join('production' if m == 'prod' else 'test' for m in missing)} listener: the ECS controller "
        "shifts traffic with such rules, which are created with the load balancer. An environment that deployed "
        "through CodeDeploy moves to the ECS controller by the procedure of docs/controllers.md, not by changing "
        "bluegreen_controller alone; a first provision that stopped before the rules were made (no service yet) is "
        "undone with playbooks/teardown.yml, then provisioned again"
    )


def drift(target_groups, params):
    found = []
    for name in params["target_group_names"]:
        if name not in target_groups:
            continue
        actual = camel_dict_to_snake_dict(target_groups[name])
        for key, wanted in params["target_group_settings"].items():
            if str(actual.get(key, "unset")) != str(wanted):
                found.append(f"{name}: {key} is {actual.get(key, 'unset')}, the inventory says {wanted}")
    return found


def read(module, client):
    params = module.params
    try:
        try:
            balancer = client.describe_load_balancers(Names=[params["name"]], aws_retry=True)["LoadBalancers"][0]
        except client.exceptions.LoadBalancerNotFoundException:
            balancer = None
        listeners = []
        if balancer is not None:
            paginator = client.get_paginator("describe_listeners")
            listeners = paginator.paginate(LoadBalancerArn=balancer["LoadBalancerArn"]).build_full_result()["Listeners"]
        target_groups = {}
        for name in params["target_group_names"]:
            try:
                (group,) = client.describe_target_groups(Names=[name], aws_retry=True)["TargetGroups"]
            except client.exceptions.TargetGroupNotFoundException:
                continue
            attributes = client.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"], aws_retry=True)
            for attribute in attributes["Attributes"]:
                if attribute["Key"] == "deregistration_delay.timeout_seconds":
                    group["DeregistrationDelayTimeoutSeconds"] = int(attribute["Value"])
            target_groups[name] = group
        rules_by_listener = {}
        for listener in listeners:
            if params["listener_rules"] or (params["serving_from_rules"] and listener["Port"] == params["prod_port"]):
                paginator = client.get_paginator("describe_rules")
                rules_by_listener[listener["ListenerArn"]] = paginator.paginate(
                    ListenerArn=listener["ListenerArn"]
                ).build_full_result()["Rules"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read load balancer {params['name']} and its target groups")
    return balancer, listeners, target_groups, rules_by_listener


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            target_group_names=dict(type="list", elements="str", required=True),
            prod_port=dict(type="int", required=True),
            test_port=dict(type="int", required=True),
            https=dict(type="bool", default=False),
            listener_rules=dict(type="bool", default=False),
            serving_from_rules=dict(type="bool", default=False),
            target_group_settings=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    balancer, listeners, target_groups, rules_by_listener = read(module, client)
    error = missing_listeners(balancer, listeners, module.params)
    if error:
        module.fail_json(msg=error)
    summary = summarize(balancer, listeners, target_groups, module.params)
    summary["serving_target_group_arn"] = serving_group(listeners, rules_by_listener, summary)
    if module.params["listener_rules"]:
        summary.update(pair_rules(rules_by_listener, summary))
        error = missing_rules(balancer, summary, module.params)
        if error:
            module.fail_json(msg=error)
    module.exit_json(changed=False, **summary)


if __name__ == "__main__":
    main()

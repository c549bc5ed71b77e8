"""bluegreen_listener_rule: the ECS controller's rule on a listener, made once and never re-weighted."""

from __future__ import annotations

import bluegreen_listener_rule as module

from tests.unit.library.fake_aws import FakeService

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/orders-prod/50dc6c495c0c9188/f2f7dc8efc"
BLUE, GREEN = (f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-prod-{c}/73e2" for c in "bg")
DEFAULT = {"RuleArn": f"{LISTENER}/default", "Priority": "default", "IsDefault": True, "Actions": []}


def elbv2(rules: list[dict]) -> FakeService:
    fake = FakeService("elbv2")
    fake.handlers["DescribeRules"] = lambda p: {"Rules": rules}

    def create(params):
        rule = {"RuleArn": f"{LISTENER}/new", "Priority": str(params["Priority"]), "IsDefault": False}
        rules.append({**rule, "Actions": params["Actions"]})
        return {"Rules": [rule]}

    fake.handlers["CreateRule"] = create
    return fake


def test_the_rule_is_created_once_forwarding_to_the_serving_group(run_module) -> None:
    rules = [DEFAULT]
    fake = elbv2(rules)
    # Green serves (CodeDeploy swapped the pair): it gets the weight.
    args = {"listener_arn": LISTENER, "target_group_arns": [GREEN, BLUE], "priority": 10}
    predicted = run_module(module, args, {"elbv2": fake}, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["rule_arn"] == "(created by this run)"
    assert [name for name, _ in fake.calls] == ["DescribeRules"]
    created = run_module(module, args, {"elbv2": fake})
    assert created["changed"] is True
    (request,) = [params for name, params in fake.calls if name == "CreateRule"]
    assert request["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]
    assert request["Actions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": GREEN, "Weight": 100},
        {"TargetGroupArn": BLUE, "Weight": 0},
    ]
    # Again, and after ECS moved the weights: the rule is there, nothing changes.
    rules[-1]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["Weight"] = 0
    again = run_module(module, args, {"elbv2": fake})
    assert again["changed"] is False
    assert again["rule_arn"] == f"{LISTENER}/new"
    assert len([name for name, _ in fake.calls if name == "CreateRule"]) == 1


def test_a_pair_that_is_not_two_groups_is_refused_before_any_call(run_module) -> None:
    fake = elbv2([DEFAULT])
    result = run_module(module, {"listener_arn": LISTENER, "target_group_arns": [BLUE, BLUE]}, {"elbv2": fake})
    assert result.failed
    assert "must name the pair's two groups" in result["msg"]
    assert fake.calls == []


def listener_with(rules: list[dict], default_to: str | None) -> FakeService:
    fake = elbv2(rules)
    state = {
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": default_to}]
        if default_to
        else [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]
    }
    fake.handlers["DescribeListeners"] = lambda p: {"Listeners": [{"ListenerArn": LISTENER, **state}]}

    def modify(params):
        state["DefaultActions"] = params["DefaultActions"]
        return {"Listeners": [{"ListenerArn": LISTENER, **state}]}

    def delete(params):
        rules[:] = [r for r in rules if r["RuleArn"] != params["RuleArn"]]
        return {}

    fake.handlers["ModifyListener"] = modify
    fake.handlers["DeleteRule"] = delete
    return fake


def pair(serving_weight: int, other_weight: int) -> dict:
    return {
        "RuleArn": f"{LISTENER}/pair",
        "Priority": "10",
        "IsDefault": False,
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": GREEN, "Weight": serving_weight},
                        {"TargetGroupArn": BLUE, "Weight": other_weight},
                    ]
                },
            }
        ],
    }


def test_absent_hands_the_rules_traffic_to_the_default_action_first_then_deletes_the_rule(run_module) -> None:
    rules = [pair(100, 0), DEFAULT]
    fake = listener_with(rules, default_to=None)  # an ECS-native environment's listener: a fixed response
    args = {"listener_arn": LISTENER, "target_group_arns": [GREEN, BLUE], "state": "absent"}
    predicted = run_module(module, args, {"elbv2": fake}, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["default_action_changed"] is True
    assert predicted["removed_rule_arns"] == [f"{LISTENER}/pair"]
    assert [name for name, _ in fake.calls] == ["DescribeRules", "DescribeListeners"]  # nothing written
    done = run_module(module, args, {"elbv2": fake})
    assert done["changed"] is True
    writes = [(name, params) for name, params in fake.calls if name in ("ModifyListener", "DeleteRule")]
    # In that order: the default action serves the same group before the rule goes.
    assert writes == [
        ("ModifyListener", {"ListenerArn": LISTENER, "DefaultActions": [{"Type": "forward", "TargetGroupArn": GREEN}]}),
        ("DeleteRule", {"RuleArn": f"{LISTENER}/pair"}),
    ]
    again = run_module(module, args, {"elbv2": fake})
    assert again["changed"] is False
    assert again["removed_rule_arns"] == []


def test_absent_refuses_while_the_rule_sends_traffic_to_the_other_group(run_module) -> None:
    rules = [pair(90, 10), DEFAULT]
    fake = listener_with(rules, default_to=GREEN)
    args = {"listener_arn": LISTENER, "target_group_arns": [GREEN, BLUE], "state": "absent"}
    result = run_module(module, args, {"elbv2": fake})
    assert result.failed
    assert f"still forwards weight 10 to {BLUE}" in result["msg"]
    assert "Nothing changed" in result["msg"]
    assert not [name for name, _ in fake.calls if name in ("ModifyListener", "DeleteRule")]

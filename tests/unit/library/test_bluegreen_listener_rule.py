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

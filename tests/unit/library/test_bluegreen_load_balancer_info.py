"""bluegreen_load_balancer_info: the listeners and target groups the other roles are passed, read strictly."""

from __future__ import annotations

import bluegreen_load_balancer_info as module
import pytest

from tests.botocore_fake import AwsError
from tests.unit.library.fake_aws import FakeService

LB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/orders-prod/50dc6c495c0c9188"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-prod-{}/{}"
ARGS = {
    "name": "orders-prod",
    "target_group_names": ["orders-prod-blue", "orders-prod-green"],
    "prod_port": 443,
    "test_port": 8443,
    "https": True,
    "target_group_settings": {"health_check_path": "/ready", "deregistration_delay_timeout_seconds": 20},
}


def listener(port: int) -> dict:
    return {"ListenerArn": f"{LB.replace(':loadbalancer/', ':listener/')}/{port}", "Port": port}


def target_group(color: str, path: str = "/ready") -> dict:
    return {
        "TargetGroupName": f"orders-prod-{color}",
        "TargetGroupArn": TG.format(color, "73e2d6bc24d8a067"),
        "HealthCheckPath": path,
        "Port": 8000,
    }


def elbv2(balancer: bool = True, listeners=(443, 8443), delay: str = "20", path: str = "/ready") -> FakeService:
    fake = FakeService("elbv2")
    if balancer:
        fake.handlers["DescribeLoadBalancers"] = lambda p: {
            "LoadBalancers": [{"LoadBalancerArn": LB, "LoadBalancerName": "orders-prod", "DNSName": "orders.elb"}]
        }
    else:

        def missing(_params):
            raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")

        fake.handlers["DescribeLoadBalancers"] = missing
    fake.handlers["DescribeListeners"] = lambda p: {"Listeners": [listener(port) for port in listeners]}
    fake.handlers["DescribeTargetGroups"] = lambda p: {
        "TargetGroups": [target_group(p["Names"][0].rsplit("-", 1)[1], path)]
    }
    fake.handlers["DescribeTargetGroupAttributes"] = lambda p: {
        "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": delay}]
    }
    return fake


def test_what_the_other_roles_are_passed(run_module) -> None:
    result = run_module(module, ARGS, {"elbv2": elbv2()})
    assert not result.failed, result
    assert result["exists"] is True
    assert result["arn_suffix"] == "app/orders-prod/50dc6c495c0c9188"
    assert result["prod_listener_arn"].endswith("/443")
    assert result["test_listener_arn"].endswith("/8443")
    assert result["prod_url"] == "https://orders.elb:443"
    assert result["test_url"] == "http://orders.elb:8443"
    assert result["target_group_arn_suffixes"] == [
        "targetgroup/orders-prod-blue/73e2d6bc24d8a067",
        "targetgroup/orders-prod-green/73e2d6bc24d8a067",
    ]
    assert result["drift"] == []
    assert result["changed"] is False


def test_a_new_environment_in_check_mode_sees_placeholders(run_module) -> None:
    fake = elbv2(balancer=False)

    def no_group(_params):
        raise AwsError("TargetGroupNotFound", "One or more target groups not found")

    fake.handlers["DescribeTargetGroups"] = no_group
    result = run_module(module, ARGS, {"elbv2": fake}, check_mode=True)
    assert not result.failed, result
    assert result["exists"] is False
    assert result["prod_listener_arn"] == result["target_group_arns"][0] == "(created by this run)"
    assert [name for name, _ in fake.calls] == ["DescribeLoadBalancers", "DescribeTargetGroups", "DescribeTargetGroups"]


def test_a_listener_missing_on_an_existing_load_balancer_fails_with_the_fix(run_module) -> None:
    result = run_module(module, ARGS, {"elbv2": elbv2(listeners=(443,))})
    assert result.failed
    assert "orders-prod has listeners on [443]; expected 443 (production) and 8443 (test)" in result["msg"]
    assert "add the missing one by hand" in result["msg"]


@pytest.mark.parametrize("operation", ["DescribeLoadBalancers", "DescribeListeners", "DescribeTargetGroups"])
def test_a_read_that_fails_fails_the_task_never_reads_as_missing(run_module, operation) -> None:
    fake = elbv2()

    def denied(_params):
        raise AwsError("AccessDenied", f"not authorized to perform: elasticloadbalancing:{operation}", 403)

    fake.handlers[operation] = denied
    result = run_module(module, ARGS, {"elbv2": fake})
    assert result.failed
    assert "Unable to read load balancer orders-prod" in result["msg"]


def test_each_target_group_setting_that_differs_is_named(run_module) -> None:
    result = run_module(module, ARGS, {"elbv2": elbv2(delay="300", path="/health")})
    assert result["drift"] == [
        "orders-prod-blue: health_check_path is /health, the inventory says /ready",
        "orders-prod-blue: deregistration_delay_timeout_seconds is 300, the inventory says 20",
        "orders-prod-green: health_check_path is /health, the inventory says /ready",
        "orders-prod-green: deregistration_delay_timeout_seconds is 300, the inventory says 20",
    ]


def rules(listener_arn: str, forward: bool = True) -> list[dict]:
    """A listener's rules: a weighted forward to the pair (the ECS controller's), an unrelated one, the default."""
    pair = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": TG.format("blue", "73e2d6bc24d8a067"), "Weight": 100},
                {"TargetGroupArn": TG.format("green", "73e2d6bc24d8a067"), "Weight": 0},
            ]
        },
    }
    other = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
    found = [
        {"RuleArn": f"{listener_arn}/maintenance", "Priority": "5", "IsDefault": False, "Actions": [other]},
        {"RuleArn": "default", "Priority": "default", "IsDefault": True, "Actions": [other]},
    ]
    if forward:
        found.insert(0, {"RuleArn": f"{listener_arn}/pair", "Priority": "10", "IsDefault": False, "Actions": [pair]})
    return found


def test_listener_rules_to_the_pair_are_found_for_the_ecs_controller(run_module) -> None:
    fake = elbv2()
    fake.handlers["DescribeRules"] = lambda p: {"Rules": rules(p["ListenerArn"])}
    result = run_module(module, {**ARGS, "listener_rules": True}, {"elbv2": fake})
    assert not result.failed, result
    assert result["prod_rule_arn"] == f"{result['prod_listener_arn']}/pair"
    assert result["test_rule_arn"] == f"{result['test_listener_arn']}/pair"


def test_an_existing_load_balancer_without_rules_fails_with_the_migration_pointer(run_module) -> None:
    fake = elbv2()
    fake.handlers["DescribeRules"] = lambda p: {
        "Rules": rules(p["ListenerArn"], forward=p["ListenerArn"].endswith("/443"))
    }
    result = run_module(module, {**ARGS, "listener_rules": True}, {"elbv2": fake})
    assert result.failed
    assert "no listener rule forwarding to orders-prod-blue and orders-prod-green on its test listener" in result["msg"]
    assert "docs/controllers.md" in result["msg"]
    # Without the ECS controller's need, no rule is read.
    plain = elbv2()
    assert not run_module(module, ARGS, {"elbv2": plain}).failed
    assert "DescribeRules" not in [name for name, _ in plain.calls]


def test_the_serving_group_is_the_production_rules_heaviest_else_the_default_actions(run_module) -> None:
    blue, green = (TG.format(color, "73e2d6bc24d8a067") for color in ("blue", "green"))
    fake = elbv2()
    found = {p: rules(listener(p)["ListenerArn"]) for p in (443, 8443)}
    # ECS shifted production to green: the rule's weights say so, whatever the default action says.
    found[443][0]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["Weight"] = 0
    found[443][0]["Actions"][0]["ForwardConfig"]["TargetGroups"][1]["Weight"] = 100
    fake.handlers["DescribeRules"] = lambda p: {"Rules": found[int(p["ListenerArn"].rsplit("/", 1)[1])]}
    fake.handlers["DescribeListeners"] = lambda p: {
        "Listeners": [
            {**listener(port), "DefaultActions": [{"Type": "forward", "TargetGroupArn": blue}]} for port in (443, 8443)
        ]
    }
    assert run_module(module, {**ARGS, "listener_rules": True}, {"elbv2": fake})["serving_target_group_arn"] == green
    # Read without requiring them (the way back to CodeDeploy): the rule still wins; once gone, the default action.
    assert run_module(module, {**ARGS, "serving_from_rules": True}, {"elbv2": fake})["serving_target_group_arn"] == (
        green
    )
    found[443] = found[443][1:]
    assert run_module(module, {**ARGS, "serving_from_rules": True}, {"elbv2": fake})["serving_target_group_arn"] == (
        blue
    )
    # CodeDeploy's listeners: the default action serves.
    assert run_module(module, ARGS, {"elbv2": fake})["serving_target_group_arn"] == blue
    # No load balancer yet: predicted.
    assert run_module(module, ARGS, {"elbv2": elbv2(balancer=False)})["serving_target_group_arn"] == (
        "(created by this run)"
    )

"""The model of an environment: every name, computed once (module_utils/model/names.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.bluegreen import FilterModule
from hooks import build
from module_utils.model.names import LIFECYCLE_HOOKS, ModelError, names


def test_the_applications_own_service_keeps_the_environments_names():
    model = names("orders", "prod")
    assert model == names("orders", "prod", "orders") == names("orders", "prod", "")
    assert model["name"] == model["cluster"] == model["ecs_service"] == model["task_family"] == "orders-prod"
    assert model["codedeploy_application"] == model["deployment_group"] == model["load_balancer"] == "orders-prod"
    assert model["log_group"] == "/ecs/orders-prod"
    assert model["target_groups"] == ["orders-prod-blue", "orders-prod-green"]
    assert model["security_groups"] == {
        "alb": "orders-prod-alb",
        "hooks": "orders-prod-hooks",
        "service": "orders-prod-service",
    }
    assert model["roles"] == {
        "task-execution": "orders-prod-task-execution",
        "task": "orders-prod-task",
        "codedeploy": "orders-prod-codedeploy",
        "hooks": "orders-prod-hooks",
    }
    assert model["hook_functions"] == {
        "BeforeInstall": "orders-prod-validate-before-install",
        "AfterInstall": "orders-prod-validate-deployment",
        "AfterAllowTestTraffic": "orders-prod-validate-test-traffic",
        "BeforeAllowTraffic": "orders-prod-run-migrations",
        "AfterAllowTraffic": "orders-prod-validate-production",
    }
    assert model["hook_log_groups"] == [f"/aws/lambda/{f}" for f in model["hook_functions"].values()]
    assert model["alarms"] == [
        "orders-prod-error-rate-blue",
        "orders-prod-error-rate-green",
        "orders-prod-latency-p99-blue",
        "orders-prod-latency-p99-green",
        "orders-prod-unhealthy-hosts-blue",
        "orders-prod-unhealthy-hosts-green",
    ]
    assert model["alarm_names"]["unhealthy-hosts"]["green"] == "orders-prod-unhealthy-hosts-green"


def test_another_service_has_a_stack_of_its_own_in_the_environments_cluster():
    orders, worker = names("orders", "local"), names("orders", "local", "worker")
    assert worker["cluster"] == orders["cluster"] == "orders-local"
    assert worker["name"] == worker["ecs_service"] == worker["deployment_group"] == "orders-local-worker"
    assert worker["service"] == "worker"
    assert orders["service"] == "orders"
    # Nothing else is shared: no name of one service is a name of the other.
    own = {"cluster", "app", "env", "environment", "role_principals"}
    for key in set(orders) - own:
        assert orders[key] != worker[key], key


@pytest.mark.parametrize(
    ("app", "env", "service", "says"),
    [
        ("Orders", "prod", None, "the application 'Orders'"),
        ("orders", "prod_eu", None, "bluegreen_env"),
        ("orders", "prod", "my worker", "-e service=<name>"),
        ("orders", "-prod", None, "bluegreen_env"),
        ("a-very-long-application", "production", None, "at most 32"),
        ("orders", "production", "reporting-api", "'orders-production-reporting-api-green' is 37 characters"),
    ],
)
def test_names_aws_would_refuse_are_refused_saying_what_to_change(app, env, service, says):
    with pytest.raises(ModelError) as error:
        names(app, env, service)
    assert says in str(error.value)


def test_the_filter_fails_the_task_with_the_models_message():
    bluegreen_names = FilterModule().filters()["bluegreen_names"]
    assert bluegreen_names("orders", "dev", "worker")["name"] == "orders-dev-worker"
    with pytest.raises(AnsibleFilterError, match="bluegreen_env"):
        bluegreen_names("orders", "Dev")


def test_the_hooks_packaging_builds_one_function_per_lifecycle_event_of_the_model():
    assert [(event, suffix) for suffix, (_module, event, _extra) in build.HOOKS.items()] == list(LIFECYCLE_HOOKS)

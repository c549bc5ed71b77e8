"""codedeploy_application, codedeploy_deployment_config and codedeploy_deployment_group: create, no-op,
update in place, check mode, diff and bad input, against a model-checked fake CodeDeploy."""

from __future__ import annotations

import codedeploy_application
import codedeploy_deployment_config
import codedeploy_deployment_group
import pytest

from tests.botocore_fake import AwsError
from tests.unit.library.fake_aws import FakeCodeDeployResources

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/orders-prod/0123456789abcdef/{}"
PROD, TEST = LISTENER.format("1111111111111111"), LISTENER.format("2222222222222222")
GROUP_ARGS = {
    "application_name": "orders",
    "name": "orders-prod",
    "service_role_arn": "arn:aws:iam::123456789012:role/orders-prod-codedeploy",
    "deployment_config_name": "orders-linear-10-every-5",
    "ecs_service": {"cluster": "prod", "service": "orders"},
    "target_group_names": ["orders-prod-blue", "orders-prod-green"],
    "prod_listener_arns": [PROD],
    "test_listener_arns": [TEST],
    "auto_rollback_events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    "alarms": ["orders-prod-5xx", "orders-prod-unhealthy"],
    "tags": {"service": "orders"},
}


@pytest.fixture
def codedeploy() -> FakeCodeDeployResources:
    return FakeCodeDeployResources()


# --- application -------------------------------------------------------------------------------


def test_application_create_noop_tags_and_delete(run_module, codedeploy) -> None:
    args = {"name": "orders", "tags": {"team": "payments"}}
    predicted = run_module(codedeploy_application, args, {"codedeploy": codedeploy}, check_mode=True)
    assert predicted["changed"] is True
    assert codedeploy.applications == {}

    created = run_module(codedeploy_application, args, {"codedeploy": codedeploy})
    assert created["changed"] is True
    assert created["application"]["compute_platform"] == "ECS"
    assert codedeploy.called("CreateApplication") == [
        {"applicationName": "orders", "computePlatform": "ECS", "tags": [{"Key": "team", "Value": "payments"}]}
    ]

    again = run_module(codedeploy_application, args, {"codedeploy": codedeploy})
    assert again["changed"] is False
    assert again["application"]["tags"] == {"team": "payments"}

    retagged = run_module(
        codedeploy_application, {"name": "orders", "tags": {"team": "orders"}}, {"codedeploy": codedeploy}, diff=True
    )
    assert retagged["changed"] is True
    assert retagged["diff"] == {"before": {"tags": {"team": "payments"}}, "after": {"tags": {"team": "orders"}}}

    untouched = run_module(codedeploy_application, {"name": "orders"}, {"codedeploy": codedeploy})
    assert untouched["changed"] is False  # tags left unset are not touched
    assert codedeploy.called("UntagResource") == []

    deleted = run_module(codedeploy_application, {"name": "orders", "state": "absent"}, {"codedeploy": codedeploy})
    assert deleted["changed"] is True
    assert (
        run_module(codedeploy_application, {"name": "orders", "state": "absent"}, {"codedeploy": codedeploy})["changed"]
        is False
    )


def test_application_refuses_another_compute_platform(run_module, codedeploy) -> None:
    run_module(codedeploy_application, {"name": "orders", "compute_platform": "Server"}, {"codedeploy": codedeploy})
    result = run_module(codedeploy_application, {"name": "orders"}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"].startswith("Application orders exists with compute platform Server, not ECS: CodeDeploy")


# --- deployment config ---------------------------------------------------------------------------

LINEAR = {"type": "TimeBasedLinear", "percentage": 10, "interval": 5}


def test_config_create_and_noop(run_module, codedeploy) -> None:
    args = {"name": "orders-linear-10-every-5", "traffic_routing": LINEAR}
    created = run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})
    assert created["changed"] is True
    assert codedeploy.called("CreateDeploymentConfig") == [
        {
            "deploymentConfigName": "orders-linear-10-every-5",
            "computePlatform": "ECS",
            "trafficRoutingConfig": {
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 5},
            },
        }
    ]
    assert created["deployment_config"]["traffic_routing_config"]["time_based_linear"]["linear_interval"] == 5
    assert run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})["changed"] is False


def test_config_change_is_an_error_without_replace(run_module, codedeploy) -> None:
    run_module(codedeploy_deployment_config, {"name": "c", "traffic_routing": LINEAR}, {"codedeploy": codedeploy})
    canary = {"type": "TimeBasedCanary", "percentage": 10, "interval": 15}
    result = run_module(
        codedeploy_deployment_config, {"name": "c", "traffic_routing": canary}, {"codedeploy": codedeploy}
    )
    assert result.failed
    assert result["msg"].startswith(
        "Deployment config c exists as TimeBasedLinear 10% every 5 min, not TimeBasedCanary 10% then the rest after "
        "15 min, and CodeDeploy configs cannot be updated. Set replace=true"
    )
    assert codedeploy.called("DeleteDeploymentConfig") == []


def test_config_replace_recreates_when_unused(run_module, codedeploy) -> None:
    run_module(codedeploy_deployment_config, {"name": "c", "traffic_routing": LINEAR}, {"codedeploy": codedeploy})
    all_at_once = {"name": "c", "traffic_routing": {"type": "AllAtOnce"}, "replace": True}
    predicted = run_module(codedeploy_deployment_config, all_at_once, {"codedeploy": codedeploy}, check_mode=True)
    assert predicted["changed"] is True
    assert codedeploy.called("DeleteDeploymentConfig") == []
    replaced = run_module(codedeploy_deployment_config, all_at_once, {"codedeploy": codedeploy})
    assert replaced["changed"] is True
    assert codedeploy.configs["c"]["trafficRoutingConfig"] == {"type": "AllAtOnce"}


def test_config_replace_refuses_when_a_group_uses_it(run_module, codedeploy) -> None:
    run_module(codedeploy_application, {"name": "orders"}, {"codedeploy": codedeploy})
    run_module(
        codedeploy_deployment_config,
        {"name": "orders-linear-10-every-5", "traffic_routing": LINEAR},
        {"codedeploy": codedeploy},
    )
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    result = run_module(
        codedeploy_deployment_config,
        {"name": "orders-linear-10-every-5", "traffic_routing": {"type": "AllAtOnce"}, "replace": True},
        {"codedeploy": codedeploy},
    )
    assert result.failed
    assert "is used by deployment group(s) orders/orders-prod" in result["msg"]
    assert result["used_by"] == ["orders/orders-prod"]
    assert codedeploy.called("DeleteDeploymentConfig") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"name": "CodeDeployDefault.ECSAllAtOnce", "traffic_routing": {"type": "AllAtOnce"}},
            "CodeDeployDefault.ECSAllAtOnce is a predefined CodeDeploy config: it cannot be created or deleted",
        ),
        (
            {"name": "c", "traffic_routing": {"type": "TimeBasedLinear", "percentage": 10}},
            "traffic_routing: TimeBasedLinear needs both percentage (1-99) and interval (minutes)",
        ),
        (
            {"name": "c", "traffic_routing": {"type": "TimeBasedCanary", "percentage": 100, "interval": 5}},
            "traffic_routing.percentage must be 1 to 99, got 100",
        ),
        (
            {"name": "c", "traffic_routing": {"type": "TimeBasedLinear", "percentage": 10, "interval": 0}},
            "traffic_routing.interval must be 1 to 2880 minutes, got 0",
        ),
        (
            {"name": "c", "traffic_routing": {"type": "AllAtOnce", "percentage": 10}},
            "traffic_routing: AllAtOnce takes no percentage or interval",
        ),
        ({"name": "c"}, "traffic_routing is required with state=present"),
    ],
)
def test_config_bad_input(run_module, codedeploy, args, message) -> None:
    result = run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})
    assert result.failed
    assert message in result["msg"]
    assert codedeploy.called("CreateDeploymentConfig") == []


# --- deployment group ----------------------------------------------------------------------------


@pytest.fixture
def with_application(run_module, codedeploy) -> FakeCodeDeployResources:
    run_module(codedeploy_application, {"name": "orders"}, {"codedeploy": codedeploy})
    return codedeploy


def test_group_create_sends_an_ecs_blue_green_group(run_module, with_application) -> None:
    codedeploy = with_application
    predicted = run_module(
        codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy}, check_mode=True, diff=True
    )
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {}
    assert codedeploy.called("CreateDeploymentGroup") == []

    created = run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    assert created["changed"] is True
    (request,) = codedeploy.called("CreateDeploymentGroup")
    assert request == {
        "applicationName": "orders",
        "deploymentGroupName": "orders-prod",
        "serviceRoleArn": "arn:aws:iam::123456789012:role/orders-prod-codedeploy",
        "deploymentConfigName": "orders-linear-10-every-5",
        "ecsServices": [{"clusterName": "prod", "serviceName": "orders"}],
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "orders-prod-blue"}, {"name": "orders-prod-green"}],
                    "prodTrafficRoute": {"listenerArns": [PROD]},
                    "testTrafficRoute": {"listenerArns": [TEST]},
                }
            ]
        },
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
        },
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        "alarmConfiguration": {
            "enabled": True,
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": "orders-prod-5xx"}, {"name": "orders-prod-unhealthy"}],
        },
        "tags": [{"Key": "service", "Value": "orders"}],
    }


def test_group_rerun_is_a_no_op_whatever_the_order(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    reordered = {
        **GROUP_ARGS,
        "target_group_names": ["orders-prod-green", "orders-prod-blue"],
        "alarms": ["orders-prod-unhealthy", "orders-prod-5xx"],
        "auto_rollback_events": ["DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_FAILURE"],
    }
    result = run_module(codedeploy_deployment_group, reordered, {"codedeploy": codedeploy})
    assert result["changed"] is False, result.get("changed_fields")
    assert codedeploy.called("UpdateDeploymentGroup") == []


def test_group_update_sends_only_what_changed_and_keeps_the_rest(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    manual_promote = {"application_name": "orders", "name": "orders-prod", "deployment_ready_wait_minutes": 30}

    predicted = run_module(
        codedeploy_deployment_group, manual_promote, {"codedeploy": codedeploy}, check_mode=True, diff=True
    )
    assert predicted["changed"] is True
    assert predicted["changed_fields"] == ["blueGreenDeploymentConfiguration"]
    assert predicted["diff"]["after"]["blue_green_deployment_configuration"]["deployment_ready_option"] == {
        "action_on_timeout": "STOP_DEPLOYMENT",
        "wait_time_in_minutes": 30,
    }
    assert codedeploy.called("UpdateDeploymentGroup") == []

    updated = run_module(codedeploy_deployment_group, manual_promote, {"codedeploy": codedeploy})
    assert updated["changed"] is True
    assert codedeploy.called("UpdateDeploymentGroup") == [
        {
            "applicationName": "orders",
            "currentDeploymentGroupName": "orders-prod",
            "blueGreenDeploymentConfiguration": {
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30},
                # the termination wait set at creation is kept, not reset
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            },
        }
    ]
    assert run_module(codedeploy_deployment_group, manual_promote, {"codedeploy": codedeploy})["changed"] is False


def test_group_alarms_can_be_turned_off(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    result = run_module(
        codedeploy_deployment_group,
        {"application_name": "orders", "name": "orders-prod", "alarms": [], "auto_rollback_events": []},
        {"codedeploy": codedeploy},
    )
    assert result["changed_fields"] == ["alarmConfiguration", "autoRollbackConfiguration"]
    group = codedeploy.groups[("orders", "orders-prod")]
    assert group["alarmConfiguration"]["enabled"] is False
    assert group["autoRollbackConfiguration"] == {"enabled": False, "events": []}


def test_group_tags_are_updated_through_the_group_arn(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    result = run_module(
        codedeploy_deployment_group,
        {**GROUP_ARGS, "tags": {"service": "orders", "tier": "web"}},
        {"codedeploy": codedeploy},
    )
    assert result["changed"] is True
    assert result["changed_fields"] == []
    assert codedeploy.called("TagResource") == [
        {
            "ResourceArn": "arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:orders/orders-prod",
            "Tags": [{"Key": "tier", "Value": "web"}],
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"target_group_names": ["only-one"]}, "target_group_names takes exactly two different target groups"),
        ({"target_group_names": ["same", "same"]}, "target_group_names takes exactly two different target groups"),
        ({"target_group_names": ["a_b", "c"]}, "target group 'a_b' is not a target group name"),
        (
            {"prod_listener_arns": ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1"]},
            "is not a load balancer listener ARN",
        ),
        ({"test_listener_arns": [PROD]}, "cannot route both production and test traffic"),
        ({"service_role_arn": "orders-codedeploy"}, "service_role_arn 'orders-codedeploy' is not an IAM role ARN"),
        ({"deployment_ready_wait_minutes": 3000}, "deployment_ready_wait_minutes must be 0 to 2880 minutes, got 3000"),
        ({"alarms": [f"a{i}" for i in range(11)]}, "alarms takes at most 10 alarms, got 11"),
        ({"alarms": []}, "auto_rollback_events has DEPLOYMENT_STOP_ON_ALARM but alarms is empty"),
        ({"service_role_arn": None}, "service_role_arn is required to create the deployment group"),
    ],
)
def test_group_bad_input_fails_before_any_change(run_module, with_application, args, message) -> None:
    codedeploy = with_application
    result = run_module(codedeploy_deployment_group, {**GROUP_ARGS, **args}, {"codedeploy": codedeploy})
    assert result.failed
    assert message in result["msg"]
    assert codedeploy.called("CreateDeploymentGroup") == []


def test_group_listeners_without_target_groups_are_refused(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    result = run_module(
        codedeploy_deployment_group,
        {"application_name": "orders", "name": "orders-prod", "test_listener_arns": [TEST]},
        {"codedeploy": codedeploy},
    )
    assert result.failed
    assert "give target_group_names together with the listener ARNs" in result["msg"]
    assert codedeploy.called("UpdateDeploymentGroup") == []


def test_group_needs_its_application(run_module, codedeploy) -> None:
    result = run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == "Application orders does not exist: create it first (codedeploy_application)"


def test_group_delete_and_check_mode(run_module, with_application) -> None:
    codedeploy = with_application
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    args = {"application_name": "orders", "name": "orders-prod", "state": "absent"}
    predicted = run_module(codedeploy_deployment_group, args, {"codedeploy": codedeploy}, check_mode=True)
    assert predicted["changed"] is True
    assert ("orders", "orders-prod") in codedeploy.groups
    deleted = run_module(codedeploy_deployment_group, args, {"codedeploy": codedeploy})
    assert deleted["changed"] is True
    assert codedeploy.called("DeleteDeploymentGroup") == [
        {"applicationName": "orders", "deploymentGroupName": "orders-prod"}
    ]
    assert run_module(codedeploy_deployment_group, args, {"codedeploy": codedeploy})["changed"] is False


def config_used_by_a_group(run_module, codedeploy: FakeCodeDeployResources) -> FakeCodeDeployResources:
    """The linear config, and the group orders/orders-prod that uses it."""
    run_module(
        codedeploy_deployment_config,
        {"name": "orders-linear-10-every-5", "traffic_routing": LINEAR},
        {"codedeploy": codedeploy},
    )
    run_module(codedeploy_deployment_group, GROUP_ARGS, {"codedeploy": codedeploy})
    return codedeploy


def test_config_delete_refuses_while_a_group_uses_it(run_module, with_application) -> None:
    codedeploy = config_used_by_a_group(run_module, with_application)
    args = {"name": "orders-linear-10-every-5", "state": "absent"}
    refused = run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})
    assert refused.failed
    assert refused["used_by"] == ["orders/orders-prod"]
    # A service's teardown keeps it for the other groups that use it.
    kept = run_module(codedeploy_deployment_config, {**args, "keep_when_used": True}, {"codedeploy": codedeploy})
    assert not kept.failed
    assert kept["changed"] is False
    assert kept["msg"] == "Deployment config orders-linear-10-every-5 is kept: orders/orders-prod use it"
    run_module(
        codedeploy_deployment_group,
        {"application_name": "orders", "name": "orders-prod", "state": "absent"},
        {"codedeploy": codedeploy},
    )
    assert run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})["changed"] is True
    assert "orders-linear-10-every-5" not in codedeploy.configs


def test_config_absent_leaves_unreadable_applications_to_codedeploy(run_module, with_application) -> None:
    """An environment's operator reads its own applications only: another's groups (AccessDenied) are not
    searched, and CodeDeploy's refusal to delete a config in use keeps it."""
    codedeploy = config_used_by_a_group(run_module, with_application)
    listed = codedeploy.handlers["ListDeploymentGroups"]

    def list_groups(params):
        if params["applicationName"] == "orders":
            raise AwsError("AccessDeniedException", "not authorized to perform: codedeploy:ListDeploymentGroups")
        return listed(params)

    codedeploy.handlers["ListDeploymentGroups"] = list_groups
    args = {"name": "orders-linear-10-every-5", "state": "absent", "keep_when_used": True}
    kept = run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})
    assert not kept.failed, kept
    assert kept["changed"] is False
    assert kept["msg"] == (
        "Deployment config orders-linear-10-every-5 is kept: CodeDeploy says a deployment group of orders or a "
        "deployment in progress uses it"
    )
    assert "orders-linear-10-every-5" in codedeploy.configs
    # Without keep_when_used it is an error, naming where it may be used.
    refused = run_module(codedeploy_deployment_config, {**args, "keep_when_used": False}, {"codedeploy": codedeploy})
    assert refused.failed
    assert "in use by a deployment group of orders or a deployment in progress" in refused["msg"]
    # Unused (the group gone), it is deleted although the application's groups still cannot be read.
    del codedeploy.groups[("orders", "orders-prod")]
    assert run_module(codedeploy_deployment_config, args, {"codedeploy": codedeploy})["changed"] is True
    assert "orders-linear-10-every-5" not in codedeploy.configs

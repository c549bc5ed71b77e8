"""The pure parts of module_utils/codedeploy/ (deployments, groups): progress lines, failure messages, group
comparison."""

from __future__ import annotations

import json

from ansible.module_utils.codedeploy.deployments import failure_message, progress_lines, snapshot
from ansible.module_utils.codedeploy.groups import desired_group, group_changes, traffic_routing_config
from ansible.module_utils.controllers.explain import LOG_DELIVERY_SECONDS, hook_logged_reason

from tests.unit.library.fake_aws import FakeService


def _snap(status="InProgress", events=None, weights=None, **info):
    target = {"lifecycleEvents": [{"lifecycleEventName": n, "status": s} for n, s in (events or {}).items()]}
    if weights:
        target["taskSetsInfo"] = [
            {"taskSetLabel": "Blue", "trafficWeight": weights[0]},
            {"taskSetLabel": "Green", "trafficWeight": weights[1]},
        ]
    return snapshot({"deploymentId": "d-1", "status": status, **info}, [target])


def test_progress_lines_name_what_changed_in_reading_order() -> None:
    before = _snap(events={"AllowTraffic": "InProgress", "AfterAllowTraffic": "Pending"}, weights=(90, 10))
    after = _snap(
        status="Succeeded", events={"AllowTraffic": "Succeeded", "AfterAllowTraffic": "Succeeded"}, weights=(0, 100)
    )
    assert progress_lines(before, after) == [
        "AllowTraffic Succeeded",
        "AfterAllowTraffic Succeeded",
        "traffic: original 0% / replacement 100%",
        "deployment Succeeded (was InProgress)",
    ]
    assert progress_lines(after, after) == []


def test_failure_message_without_rollback_says_where_to_look() -> None:
    snap = _snap(status="Failed", errorInformation={"code": "ECS_UPDATE_ERROR", "message": "Service is draining"})
    assert failure_message(snap) == (
        "Deployment d-1 failed (ECS_UPDATE_ERROR: Service is draining). No rollback was made: check which task set "
        "serves production (status playbook)."
    )


def test_group_changes_ignore_aws_defaults_and_order() -> None:
    desired = desired_group({"alarms": [], "auto_rollback_events": [], "triggers": []})
    current = {
        "alarmConfiguration": {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []},
        "autoRollbackConfiguration": {"enabled": False, "events": ["DEPLOYMENT_FAILURE"]},
        "triggerConfigurations": [],
    }
    assert group_changes(current, desired) == {}


def test_routing_configs_have_the_api_shape() -> None:
    assert traffic_routing_config("TimeBasedCanary", 10, 15) == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15},
    }
    assert traffic_routing_config("AllAtOnce") == {"type": "AllAtOnce"}


def test_a_hook_reason_that_reaches_cloudwatch_late_is_still_found_and_the_wait_is_bounded(clock) -> None:
    """Lambda's output reaches CloudWatch Logs after the invocation that reported the failure returns: the deploy
    may read the log group before the hook's line is there."""
    line = json.dumps({"message": "Failed", "deployment_id": "d-1", "reason": "GET /ready answered 503"})
    logs = FakeService("logs")
    logs.handlers["FilterLogEvents"] = lambda p: {
        "events": [{"message": f"[ERROR]\tt\tid\t{line}"}] if clock.now >= 3 else []
    }
    assert hook_logged_reason(logs.client, "orders-validate-test-traffic", "d-1") == (
        "orders-validate-test-traffic: GET /ready answered 503"
    )
    assert clock.now == 3  # looked again every second until it arrived
    nothing = FakeService("logs")
    nothing.handlers["FilterLogEvents"] = lambda p: {"events": []}
    clock.now = 0
    assert hook_logged_reason(nothing.client, "orders-validate-test-traffic", "d-1") is None
    assert clock.now == LOG_DELIVERY_SECONDS

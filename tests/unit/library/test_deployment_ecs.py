"""bluegreen_deployment under the ECS controller: deploy / attach / wait / stop / continue / roll back an ECS-native
blue/green deployment, against a scripted ECS whose every request and answer is checked against botocore's model
(tests/botocore_fake.py)."""

from __future__ import annotations

import json
from datetime import datetime

import bluegreen_deployment as module
import pytest

from tests.unit.library.fake_aws import (
    CLUSTER,
    ECS_ARN,
    ECS_CONFIGURATION,
    ECS_LINEAR,
    NEW_TD,
    OLD_REV,
    OLD_TD,
    SERVICE,
    FakeEcs,
    FakeService,
    ecs_hook,
    fired_alarm_cloudwatch,
)

ARN = ECS_ARN
LINEAR = ECS_LINEAR
_hook = ecs_hook
# The model's names the controller reads (module_utils/model/names.py).
NAMES = {"name": SERVICE, "environment": "orders-prod", "cluster": CLUSTER, "ecs_service": SERVICE}
BASE = {"controller": "ecs", "names": NAMES}


@pytest.fixture
def ecs(clock) -> FakeEcs:
    return FakeEcs(clock)


def test_a_deploy_reports_each_stage_hook_and_traffic_step(run_module, ecs, clock) -> None:
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert result["status"] == "SUCCESSFUL"
    messages = [line["message"] for line in result["progress"]]
    for expected in (
        "stage POST_SCALE_UP",
        "hook orders-prod-validate-deployment IN_PROGRESS",
        "hook orders-prod-run-migrations SUCCEEDED",
        "traffic: original 50% / replacement 50%",
        "traffic: original 0% / replacement 100%",
        "stage BAKE_TIME",
        "deployment SUCCESSFUL (was IN_PROGRESS)",
    ):
        assert expected in messages, messages
    # Each change within 2 s of happening, however long the deployment.
    at = {line["message"]: line["elapsed_seconds"] for line in result["progress"]}
    assert at["traffic: original 50% / replacement 50%"] - 16.0 <= 2.0
    assert at["deployment SUCCESSFUL (was IN_PROGRESS)"] - 142.0 <= 2.0
    assert max(clock.sleeps) <= 2.0
    (update,) = ecs.called("UpdateService")
    assert update == {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": NEW_TD}


def test_the_same_task_definition_in_progress_is_attached_not_deployed_twice(run_module, ecs, clock) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", NEW_TD, LINEAR)
    clock.now = 20.0
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert result["attached"] is True
    assert result["changed"] is False
    assert result["status"] == "SUCCESSFUL"
    assert ecs.called("UpdateService") == []


def test_a_task_definition_already_serving_changes_nothing(run_module, ecs) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", OLD_TD, LINEAR, started=-500)
    result = run_module(module, {**BASE, "task_definition": OLD_TD}, {"ecs": ecs})
    assert result["changed"] is False
    assert result["status"] == "SUCCESSFUL"
    assert ecs.called("UpdateService") == []


def test_another_revision_in_progress_is_named_not_replaced(run_module, ecs) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", OLD_TD, LINEAR)
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert result.failed
    assert "service deployment D0 of another revision is IN_PROGRESS" in result["msg"]
    assert ecs.called("UpdateService") == []


def test_check_mode_predicts_without_deploying(run_module, ecs) -> None:
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs}, check_mode=True)
    assert result["changed"] is True
    assert ecs.called("UpdateService") == []


def test_a_rollback_fails_the_task_naming_the_alarm_and_what_serves(run_module, ecs) -> None:
    ecs.next_script = [
        *LINEAR[:7],
        (
            20.0,
            {
                "status": "ROLLBACK_IN_PROGRESS",
                "alarms": {
                    "status": "TRIGGERED",
                    "alarmNames": ["e"],
                    "triggeredAlarmNames": ["orders-prod-error-rate-green"],
                },
            },
        ),
        (
            24.0,
            {
                "status": "ROLLBACK_SUCCESSFUL",
                "prod": 0.0,
                "rollback": {"reason": "alarm orders-prod-error-rate-green is in ALARM", "serviceRevisionArn": OLD_REV},
            },
        ),
    ]
    cloudwatch = FakeService("cloudwatch")  # the alarm is gone since: nothing more to say about it
    cloudwatch.handlers["DescribeAlarms"] = lambda p: {"MetricAlarms": []}
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs, "cloudwatch": cloudwatch})
    assert result.failed
    assert result["status"] == "ROLLBACK_SUCCESSFUL"
    assert "at stage PRODUCTION_TRAFFIC_SHIFT; alarm(s) orders-prod-error-rate-green in ALARM" in result["msg"]
    assert result["msg"].endswith("Production is served by the previous revision (111).")
    assert (
        "deployment ROLLBACK_IN_PROGRESS (was IN_PROGRESS): rolled back by the alarm(s) orders-prod-error-rate-green"
        in [line["message"] for line in result["progress"]]
    )


def test_stop_rolls_back_the_deployment_in_progress(run_module, ecs, clock) -> None:
    arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"
    ecs.add(arn, NEW_TD, LINEAR)
    clock.now = 17.0
    result = run_module(module, {**BASE, "state": "stopped"}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert result["status"] == "ROLLBACK_SUCCESSFUL"
    assert ecs.called("StopServiceDeployment") == [{"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}]
    # Nothing in progress any more: stopping again changes nothing.
    again = run_module(module, {**BASE, "state": "stopped"}, {"ecs": ecs})
    assert again["changed"] is False
    assert "nothing to stop" in again["msg"]


def test_promote_continues_the_paused_hook_and_only_a_paused_one(run_module, ecs, clock) -> None:
    arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"
    paused = [
        *LINEAR[:5],
        (15.0, {"hooks": [_hook("run-migrations", "SUCCEEDED"), _hook("pause-1", "AWAITING_ACTION", kind="PAUSE")]}),
    ]
    ecs.add(arn, NEW_TD, paused)
    clock.now = 5.0
    early = run_module(module, {**BASE, "state": "continued"}, {"ecs": ecs})
    assert early.failed
    assert "is not paused at a PAUSE hook" in early["msg"]
    waited = run_module(
        module,
        {**BASE, "deployment_id": arn, "follow": True, "task_definition": NEW_TD, "wait_for": {"paused": True}},
        {"ecs": ecs},
    )
    assert waited["reached"] is True
    assert "hook PAUSE AWAITING_ACTION: waiting for promote.yml (ContinueServiceDeployment)" in [
        line["message"] for line in waited["progress"]
    ]
    result = run_module(module, {**BASE, "state": "continued"}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert result["status"] == "SUCCESSFUL"
    assert ecs.called("ContinueServiceDeployment") == [
        {"serviceDeploymentArn": arn, "hookId": "pause-1", "action": "CONTINUE"}
    ]
    # The action plugin's later steps only follow the continued deployment (it is no longer paused): no second
    # ContinueServiceDeployment, no "not paused" failure.
    followed = run_module(module, {**BASE, "state": "continued", "deployment_id": arn, "follow": True}, {"ecs": ecs})
    assert not followed.failed, followed.get("msg")
    assert followed["status"] == "SUCCESSFUL"
    assert len(ecs.called("ContinueServiceDeployment")) == 1


@pytest.mark.parametrize(
    ("controller", "strategy", "message"),
    [
        (
            "CODE_DEPLOY",
            "ROLLING",
            "uses the CODE_DEPLOY deployment controller, not ECS: set bluegreen_controller: codedeploy",
        ),
        ("ECS", "ROLLING", "deploys with strategy ROLLING, not blue/green"),
    ],
)
def test_a_service_that_is_not_ecs_blue_green_is_refused_before_anything_changes(
    run_module, ecs, controller, strategy, message
) -> None:
    ecs.controller, ecs.strategy = controller, strategy
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert result.failed
    assert message in result["msg"]
    assert ecs.called("UpdateService") == []


def test_report_every_returns_at_each_change_for_the_action_plugin(run_module, ecs) -> None:
    first = run_module(module, {**BASE, "task_definition": NEW_TD, "report_every": 10}, {"ecs": ecs})
    assert first["finished"] is False
    assert first["deployment_id"].endswith("/D1")
    follow = {
        **BASE,
        "task_definition": NEW_TD,
        "report_every": 10,
        "follow": True,
        "deployment_id": first["deployment_id"],
        "progress_since": first["deployment"],
    }
    second = run_module(module, follow, {"ecs": ecs})
    assert second["progress"], "a later step reports what changed since the last one"
    assert len(ecs.called("UpdateService")) == 1


def test_the_deployment_in_progress_is_found_on_any_page_and_the_newest_of_two_is_named(run_module, ecs) -> None:
    ecs.history(5)
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/Replaced", OLD_TD, [(0.0, {"status": "STOP_REQUESTED"})])
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/Newest", OLD_TD, LINEAR)
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert result.failed
    assert "service deployment Newest of another revision is IN_PROGRESS" in result["msg"]
    assert ecs.called("UpdateService") == []


def test_a_failed_hook_fails_the_task_with_the_reason_it_logged(run_module, ecs) -> None:
    ecs.next_script = [
        *LINEAR[:3],
        (6.0, {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "hooks": [_hook("validate-test-traffic", "FAILED")]}),
        (
            8.0,
            {
                "status": "ROLLBACK_SUCCESSFUL",
                "rollback": {"reason": "Lifecycle hook FAILED", "serviceRevisionArn": OLD_REV},
            },
        ),
    ]
    logs = FakeService("logs")
    deployment_id = "D1"  # the new deployment (the fake's D0 is the service's first)

    def events(params):
        assert params["logGroupName"] == "/aws/lambda/orders-prod-validate-test-traffic"
        assert params["filterPattern"] == f'"{deployment_id}"'
        line = {"message": "Failed", "deployment_id": deployment_id, "reason": "GET /ready on the test listener: 503"}
        return {"events": [{"message": "[INFO]\t2026-11-29T13:00:00Z\tid\t" + json.dumps(line)}]}

    logs.handlers["FilterLogEvents"] = events
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs, "logs": logs})
    assert result.failed
    assert result["msg"].endswith(
        "The hook said: orders-prod-validate-test-traffic: GET /ready on the test listener: 503"
    ), result["msg"]


def test_a_deployment_rolled_back_by_an_alarm_says_why_it_fired_and_what_it_cost(run_module, ecs) -> None:
    """ECS names the alarms only (alarms.triggeredAlarmNames): the failure adds why each fired and what its target
    group served, from CloudWatch, as the CodeDeploy path does."""
    ecs.next_script = [
        *LINEAR[:7],
        (
            30.0,
            {
                "status": "ROLLBACK_SUCCESSFUL",
                "alarms": {"status": "TRIGGERED", "triggeredAlarmNames": ["orders-prod-error-rate-green"]},
                "rollback": {"reason": "Alarm orders-prod-error-rate-green triggered", "serviceRevisionArn": OLD_REV},
            },
        ),
    ]
    cloudwatch, windows = fired_alarm_cloudwatch()
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs, "cloudwatch": cloudwatch})
    assert result.failed
    assert "alarm(s) orders-prod-error-rate-green in ALARM" in result["msg"]
    assert result["alarm_failure_reason"].startswith(
        "orders-prod-error-rate-green: Threshold Crossed: 1 datapoint [30] Target group orders-prod-green since "
    )
    assert "CloudWatch says: orders-prod-error-rate-green" in result["msg"]
    assert "100 requests, 30 answered 5XX or refused (30.0 %)" in result["msg"]
    # The history is read from the deployment's start (a month of other transitions is not its business).
    (start, end) = windows[0]
    assert start == datetime.fromisoformat(result["deployment"]["timings"]["start_time"])
    assert end > start


# -- the traffic plan -----------------------------------------------------------------------------------------------


def test_a_traffic_plan_is_merged_into_the_service_s_configuration(run_module, ecs) -> None:
    """The plan's strategy and bake time replace the service's; its hooks, alarms and percentages stay."""
    traffic = {"type": "canary", "percent": 10, "interval_minutes": 5, "bake_minutes": 15}
    result = run_module(module, {**BASE, "task_definition": NEW_TD, "traffic": traffic}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    (update,) = ecs.called("UpdateService")
    kept = {k: v for k, v in ECS_CONFIGURATION.items() if k not in ("bakeTimeInMinutes", "linearConfiguration")}
    assert update["deploymentConfiguration"] == {
        **kept,
        "strategy": "CANARY",
        "bakeTimeInMinutes": 15,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    }


@pytest.mark.parametrize(
    ("traffic", "message"),
    [
        ({"type": "linar"}, "traffic.type is 'linar': one of all_at_once, linear, canary"),
        ({"type": "all_at_once", "percent": 10}, "traffic: all_at_once takes no percent or interval_minutes"),
        (
            {"type": "linear", "percent": 100, "interval_minutes": 1},
            "traffic.percent is 100: a whole number from 1 to 99",
        ),
    ],
)
def test_a_bad_traffic_plan_is_refused_before_any_call(run_module, ecs, traffic, message) -> None:
    result = run_module(module, {**BASE, "task_definition": NEW_TD, "traffic": traffic}, {"ecs": ecs})
    assert result.failed
    assert message in result["msg"]
    assert ecs.calls == []


def test_a_plan_ecs_would_refuse_changes_nothing(run_module, ecs) -> None:
    traffic = {"type": "linear", "percent": 2, "interval_minutes": 1}
    result = run_module(module, {**BASE, "task_definition": NEW_TD, "traffic": traffic}, {"ecs": ecs})
    assert result.failed
    assert result["msg"] == "traffic percentage 2: an ECS LINEAR step is 3 to 100 percent; nothing was changed"
    assert ecs.called("UpdateService") == []


def test_a_plan_for_a_service_without_hooks_says_to_provision_it(run_module, ecs) -> None:
    ecs.configuration = {"maximumPercent": 200, "minimumHealthyPercent": 100}
    result = run_module(module, {**BASE, "task_definition": NEW_TD, "traffic": {"type": "all_at_once"}}, {"ecs": ecs})
    assert result.failed
    assert "the service has no lifecycle hooks in its deploymentConfiguration" in result["msg"]
    assert ecs.called("UpdateService") == []


def test_a_stop_without_rollback_is_refused(run_module, ecs) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", NEW_TD, LINEAR)
    result = run_module(module, {**BASE, "state": "stopped", "rollback": False}, {"ecs": ecs})
    assert result.failed
    assert result["msg"] == "ECS stops a service deployment only with rollback (stopType ROLLBACK)"
    assert ecs.called("StopServiceDeployment") == []


# -- state=rolled_back ----------------------------------------------------------------------------------------------


def _deployed_history(ecs: FakeEcs) -> None:
    """OLD_TD then NEW_TD deployed and succeeded: NEW_TD serves."""
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/V41", OLD_TD, LINEAR, started=-900)
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/V42", NEW_TD, LINEAR, started=-500)
    ecs.task_definition = NEW_TD


def test_rolled_back_stops_the_deployment_in_progress_with_rollback(run_module, ecs, clock) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/V41", OLD_TD, LINEAR, started=-900)
    arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D1"
    ecs.add(arn, NEW_TD, LINEAR)
    ecs.task_definition = NEW_TD
    clock.now = 17.0
    result = run_module(module, {**BASE, "state": "rolled_back"}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert (result["changed"], result["rollback_mode"], result["deployment_id"]) == (True, "stopped", arn)
    assert ecs.called("StopServiceDeployment") == [{"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}]
    assert result["status"] == "ROLLBACK_SUCCESSFUL"
    assert result["serving"] == OLD_TD
    assert ecs.called("UpdateService") == []


def test_rolled_back_after_a_deployment_redeploys_the_earlier_revision_with_the_plan(run_module, ecs) -> None:
    _deployed_history(ecs)
    result = run_module(module, {**BASE, "state": "rolled_back", "traffic": {"type": "all_at_once"}}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert (result["changed"], result["rollback_mode"], result["rollback_to"]) == (True, "redeployed", OLD_TD)
    kept = {k: v for k, v in ECS_CONFIGURATION.items() if k not in ("bakeTimeInMinutes", "linearConfiguration")}
    assert ecs.called("UpdateService") == [
        {
            "cluster": CLUSTER,
            "service": SERVICE,
            "taskDefinition": OLD_TD,
            # The plan's strategy in the service's configuration: the same hooks and alarms as any deployment.
            "deploymentConfiguration": {**kept, "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5},
        }
    ]
    assert ecs.called("StopServiceDeployment") == []
    assert result["status"] == "SUCCESSFUL"
    assert result["serving"] == OLD_TD


def test_rolled_back_without_a_plan_keeps_the_service_s_strategy(run_module, ecs) -> None:
    _deployed_history(ecs)
    result = run_module(module, {**BASE, "state": "rolled_back"}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert ecs.called("UpdateService") == [{"cluster": CLUSTER, "service": SERVICE, "taskDefinition": OLD_TD}]
    assert result["serving"] == OLD_TD


def test_rolled_back_steps_follow_the_redeploy_without_deploying_again(run_module, ecs) -> None:
    """The action plugin's later steps (report_every) follow the first step's redeploy: once it has succeeded,
    NEW_TD is an earlier revision, and must not be deployed back."""
    _deployed_history(ecs)
    args = {**BASE, "state": "rolled_back", "report_every": 30}
    step = run_module(module, args, {"ecs": ecs})
    assert (step["finished"], step["rollback_mode"]) == (False, "redeployed")
    follow = {**args, **step["resume"], "follow": True, "deployment_id": step["deployment_id"]}
    while not step["finished"]:
        step = run_module(module, {**follow, "progress_since": step["deployment"]}, {"ecs": ecs})
        assert not step.failed, step.get("msg")
    assert (step["status"], step["rollback_mode"], step["serving"]) == ("SUCCESSFUL", "redeployed", OLD_TD)
    assert len(ecs.called("UpdateService")) == 1


def test_rolled_back_steps_follow_the_stop_as_a_stop(run_module, ecs, clock) -> None:
    arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D1"
    ecs.add(arn, NEW_TD, LINEAR)
    clock.now = 17.0
    args = {**BASE, "state": "rolled_back", "report_every": 1}
    step = run_module(module, args, {"ecs": ecs})
    assert (step["finished"], step["rollback_mode"]) == (False, "stopped")
    follow = {**args, **step["resume"], "follow": True, "deployment_id": arn}
    while not step["finished"]:
        step = run_module(module, {**follow, "progress_since": step["deployment"]}, {"ecs": ecs})
        assert not step.failed, step.get("msg")  # the rollback is what was asked
    assert (step["status"], step["rollback_mode"], step["serving"]) == ("ROLLBACK_SUCCESSFUL", "stopped", OLD_TD)
    assert len(ecs.called("StopServiceDeployment")) == 1
    assert ecs.called("UpdateService") == []


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "The service has no successful deployment: nothing to roll back to"),
        (
            [NEW_TD],
            f"No earlier successful revision than {NEW_TD} among the last 1 successful deployments: nothing to roll "
            "back to",
        ),
    ],
)
def test_rolled_back_with_nothing_to_roll_back_to_fails_saying_why(run_module, ecs, history, message) -> None:
    for index, task_definition in enumerate(history):
        ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/V{index}", task_definition, LINEAR, started=-500)
        ecs.task_definition = task_definition
    result = run_module(module, {**BASE, "state": "rolled_back"}, {"ecs": ecs})
    assert result.failed
    assert result["msg"] == message
    assert ecs.called("UpdateService") == []
    assert ecs.called("StopServiceDeployment") == []


def test_check_mode_predicts_a_stop_a_promote_a_replace_and_a_rollback_without_calling_them(
    run_module, ecs, clock
) -> None:
    arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"
    paused = [*LINEAR[:5], (15.0, {"hooks": [_hook("pause-1", "AWAITING_ACTION", kind="PAUSE")]})]
    ecs.add(arn, OLD_TD, paused)
    clock.now = 20.0
    for args in (
        {"state": "stopped"},
        {"state": "continued"},
        {"state": "rolled_back"},
        {"task_definition": NEW_TD, "replace_active": True},
    ):
        result = run_module(module, {**BASE, **args}, {"ecs": ecs}, check_mode=True)
        assert not result.failed, (args, result.get("msg"))
        assert result["changed"] is True, args
    assert ecs.called("StopServiceDeployment") == []
    assert ecs.called("ContinueServiceDeployment") == []
    assert ecs.called("UpdateService") == []


def test_replace_active_rolls_the_other_revision_back_then_deploys(run_module, ecs, clock) -> None:
    other = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"
    ecs.add(other, OLD_TD, LINEAR)
    clock.now = 5.0
    result = run_module(module, {**BASE, "task_definition": NEW_TD, "replace_active": True}, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert ecs.called("StopServiceDeployment") == [{"serviceDeploymentArn": other, "stopType": "ROLLBACK"}]
    assert result["replaced_deployment_id"] == other
    assert len(ecs.called("UpdateService")) == 1
    assert result["status"] == "SUCCESSFUL"

"""bluegreen_deployment under the CodeDeploy controller: create / attach / wait / stop / continue / roll back, against
a model-checked fake CodeDeploy."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import bluegreen_deployment as module
import pytest
from ansible.module_utils.codedeploy.appspec import build_appspec, render_json, sha256
from botocore.exceptions import EndpointConnectionError

from tests.unit.library.fake_aws import FakeCodeDeploy, FakeService, fired_alarm_cloudwatch

TASK_DEFINITION = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:42"
EARLIER = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:41"
# The model's names the controller reads (module_utils/model/names.py).
NAMES = {
    "name": "orders-prod",
    "environment": "orders-prod",
    "codedeploy_application": "orders",
    "deployment_group": "orders-prod",
    "hook_functions": {"BeforeAllowTraffic": "orders-run-migrations"},
}
NETWORK = {"subnets": ["subnet-0a1b2c3d"], "security_groups": ["sg-0a1b2c3d"], "assign_public_ip": "DISABLED"}
PLACEMENT = {"container_name": "web", "container_port": 8000, "network_configuration": NETWORK}
# The AppSpec the controller renders from task_definition, placement and the names' hook functions.
APPSPEC = build_appspec(
    TASK_DEFINITION,
    "web",
    8000,
    network_configuration=NETWORK,
    hooks={"BeforeAllowTraffic": "orders-run-migrations"},
)
CONTENT = render_json(APPSPEC)
DIGEST = sha256(CONTENT)
OWN = {"controller": "codedeploy", "names": NAMES}
BASE_ARGS = {**OWN, "task_definition": TASK_DEFINITION, "placement": PLACEMENT}


def _revision(task_definition: str, **extra) -> tuple[str, str]:
    """(sha256, content) of an AppSpec deploying `task_definition`."""
    content = render_json(build_appspec(task_definition, "web", 8000, **extra))
    return sha256(content), content


LINEAR_HAPPY_PATH = [
    (0.0, {"status": "InProgress", "events": {"BeforeInstall": "InProgress"}}),
    (3.0, {"events": {"BeforeInstall": "Succeeded", "Install": "InProgress"}}),
    (
        20.0,
        {
            "events": {"Install": "Succeeded", "AfterInstall": "Succeeded", "AllowTestTraffic": "Succeeded"},
            "weights": (100, 0),
        },
    ),
    (31.0, {"events": {"AfterAllowTestTraffic": "Succeeded", "BeforeAllowTraffic": "InProgress"}}),
    (
        45.0,
        {"events": {"BeforeAllowTraffic": "Succeeded", "AllowTraffic": "InProgress"}, "weights": (90, 10)},
    ),
    (105.0, {"weights": (80, 20)}),
    (165.0, {"weights": (70, 30)}),
    (
        225.0,
        {"weights": (0, 100), "events": {"AllowTraffic": "Succeeded", "AfterAllowTraffic": "InProgress"}},
    ),
    (240.0, {"events": {"AfterAllowTraffic": "Succeeded"}}),
    (241.5, {"status": "Succeeded"}),
]

HOOK_FAILURE = [
    (
        0.0,
        {
            "status": "InProgress",
            "events": {
                "BeforeInstall": "Succeeded",
                "Install": "Succeeded",
                "AfterInstall": "Succeeded",
                "AllowTestTraffic": "Succeeded",
                "AfterAllowTestTraffic": "InProgress",
            },
            "weights": (100, 0),
        },
    ),
    (
        12.0,
        {
            "events": {"AfterAllowTestTraffic": "Failed"},
            "diagnostics": {
                "errorCode": "ScriptFailed",
                "scriptName": "orders-validate-test-traffic",
                "message": "GET /ready on the test listener answered 503: database: timeout",
                "logTail": "",
            },
        },
    ),
    (
        13.0,
        {
            "status": "Failed",
            "errorInformation": {
                "code": "HOOK_EXECUTION_FAILURE",
                "message": "The deployment failed because a lifecycle hook failed",
            },
            "rollbackInfo": {
                "rollbackDeploymentId": "d-ROLLBACK1",
                "rollbackMessage": "Deployment rolled back by d-ROLLBACK1",
            },
        },
    ),
]


@pytest.fixture
def codedeploy(clock) -> FakeCodeDeploy:
    fake = FakeCodeDeploy(clock)
    fake.add("d-PREVIOUS", [(-900, {"status": "Succeeded"})], sha256="previous-revision")
    return fake


def test_linear_happy_path_reports_every_event_and_traffic_step(run_module, codedeploy, clock) -> None:
    codedeploy.next_script = LINEAR_HAPPY_PATH
    result = run_module(module, {**BASE_ARGS, "description": "orders 1.4.2"}, {"codedeploy": codedeploy})

    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert result["attached"] is False
    assert result["status"] == "Succeeded"
    created = codedeploy.called("CreateDeployment")
    assert created == [
        {
            "applicationName": "orders",
            "deploymentGroupName": "orders-prod",
            "description": "orders 1.4.2",
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": CONTENT, "sha256": DIGEST},
            },
        }
    ]
    events = {e["lifecycle_event_name"]: e["status"] for e in result["deployment"]["lifecycle_events"]}
    assert set(events.values()) == {"Succeeded"}
    assert len(events) == 8
    messages = [entry["message"] for entry in result["progress"]]
    assert messages[0] == "deployment InProgress (was Created)" or messages[0].startswith("BeforeInstall")
    traffic = [m for m in messages if m.startswith("traffic:")]
    assert traffic == [
        "traffic: original 100% / replacement 0%",
        "traffic: original 90% / replacement 10%",
        "traffic: original 80% / replacement 20%",
        "traffic: original 70% / replacement 30%",
        "traffic: original 0% / replacement 100%",
    ]
    order = [
        m.split()[0] for m in messages if m.endswith(("Succeeded", "s")) and not m.startswith(("traffic", "deployment"))
    ]
    assert order.index("BeforeInstall") < order.index("AfterAllowTestTraffic") < order.index("AfterAllowTraffic")
    assert "BeforeAllowTraffic Succeeded in 14s" in messages
    assert messages[-1] == "deployment Succeeded (was InProgress)"
    assert result["deployment"]["traffic"] == {"original": 0.0, "replacement": 100.0}
    # Noticed within 2 s of the API showing Succeeded (the AWS CLI waiter polls every 15 s).
    assert clock.now - 241.5 <= 2.0
    assert max(clock.sleeps) <= 2.0
    assert result["deployment"]["timings"]["lifecycle_events"]["BeforeAllowTraffic"] == 14.0


def test_polling_backs_off_while_nothing_changes(run_module, codedeploy, clock) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (600.0, {"status": "Succeeded"})]
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert result["status"] == "Succeeded"
    get_calls = len(codedeploy.called("GetDeployment"))
    target_calls = len(codedeploy.called("BatchGetDeploymentTargets"))
    # At 2 s at most between GetDeployment calls, ~300 polls; the targets far less often.
    assert 290 <= get_calls <= 320
    assert target_calls < get_calls / 2.5


def test_hook_failure_fails_the_task_naming_the_event_and_the_rollback(run_module, codedeploy) -> None:
    codedeploy.next_script = HOOK_FAILURE
    # The rollback deployment CodeDeploy creates when the hook fails (at 13 s). Before that it must not
    # look active, or the module would see another revision in progress: it shows as an old, ended one.
    codedeploy.add(
        "d-ROLLBACK1",
        [
            (-1000.0, {"status": "Succeeded"}),
            (13.0, {"status": "InProgress"}),
            (19.0, {"status": "Succeeded"}),
        ],
        sha256="previous-revision",
        creator="codeDeployRollback",
    )
    codedeploy.last_attempted = "d-PREVIOUS"

    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})

    assert result.failed
    assert result["msg"] == (
        f"Deployment {result['deployment_id']} failed at lifecycle event AfterAllowTestTraffic: GET /ready on the "
        "test listener answered 503: database: timeout (HOOK_EXECUTION_FAILURE: The deployment failed because a "
        "lifecycle hook failed). Rollback deployment d-ROLLBACK1 succeeded: production traffic is back on the "
        "original task set."
    )
    assert result["deployment"]["rollback_info"]["rollback_deployment_status"] == "Succeeded"
    assert "AfterAllowTestTraffic Failed in 12s: GET /ready on the test listener answered 503: database: timeout" in [
        e["message"] for e in result["progress"]
    ]


def test_an_unreachable_endpoint_is_ridden_out_and_said(run_module, codedeploy, clock) -> None:
    """CodeDeploy restarting (or a network blip) for 8 s mid-deployment: the wait goes on and says so."""
    codedeploy.next_script = LINEAR_HAPPY_PATH
    answer = codedeploy.handlers["GetDeployment"]

    def get_deployment(params):
        if 30.0 <= clock.now < 38.0:
            raise EndpointConnectionError(endpoint_url="http://codedeploy.eu-west-1.amazonaws.com/")
        return answer(params)

    codedeploy.handlers["GetDeployment"] = get_deployment
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})

    assert not result.failed, result.get("msg")
    assert result["status"] == "Succeeded"
    messages = [entry["message"] for entry in result["progress"]]
    assert "CodeDeploy unreachable (EndpointConnectionError): retrying" in messages
    assert any(m.startswith("CodeDeploy reachable again after") for m in messages)


def test_an_endpoint_unreachable_for_too_long_fails_the_wait(run_module, codedeploy, clock) -> None:
    codedeploy.next_script = LINEAR_HAPPY_PATH
    answer = codedeploy.handlers["GetDeployment"]

    def get_deployment(params):
        if clock.now >= 30.0:
            raise EndpointConnectionError(endpoint_url="http://codedeploy.eu-west-1.amazonaws.com/")
        return answer(params)

    codedeploy.handlers["GetDeployment"] = get_deployment
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})

    assert result.failed
    assert result["msg"].startswith(f"Unable to follow deployment {result['deployment_id']}")
    assert 150 <= clock.now <= 160  # 120 s of tolerance after the first miss


def test_hook_failure_names_the_reason_the_hook_logged(run_module, codedeploy) -> None:
    """CodeDeploy only knows that a hook reported Failed; the why is in the function's log group."""
    codedeploy.next_script = HOOK_FAILURE
    codedeploy.add(
        "d-ROLLBACK1",
        [(-1000.0, {"status": "Succeeded"}), (13.0, {"status": "InProgress"}), (19.0, {"status": "Succeeded"})],
        sha256="previous-revision",
        creator="codeDeployRollback",
    )
    logs = FakeService("logs")
    seen: list[dict] = []

    def filter_log_events(params):
        seen.append(params)
        deployment_id = params["filterPattern"].strip('"')
        line = json.dumps(
            {"message": "Failed", "deployment_id": deployment_id, "reason": "GET /ready answered 503 (after 60s)"}
        )
        # The Lambda runtime's text format: level, time, request id, then what the handler logged.
        return {"events": [{"message": f"[ERROR]\t2026-11-27T10:00:00.000Z\tabc-123\t{line}", "timestamp": 1}]}

    logs.handlers["FilterLogEvents"] = filter_log_events

    names = {**NAMES, "hook_functions": {"AfterAllowTestTraffic": "orders-validate-test-traffic"}}
    result = run_module(module, {**BASE_ARGS, "names": names}, {"codedeploy": codedeploy, "logs": logs})

    assert result.failed
    # Bounded by the deployment's start: a log group holds months of other invocations.
    started = datetime.fromisoformat(result["deployment"]["timings"]["start_time"])
    assert seen == [
        {
            "logGroupName": "/aws/lambda/orders-validate-test-traffic",
            "filterPattern": f'"{result["deployment_id"]}"',
            "startTime": int(started.timestamp() * 1000),
        }
    ]
    # The hook's function name comes from the AppSpec, which only GetApplicationRevision returns.
    assert codedeploy.called("GetApplicationRevision")
    assert result["hook_failure_reason"] == "orders-validate-test-traffic: GET /ready answered 503 (after 60s)"
    assert result["msg"].endswith("The hook said: orders-validate-test-traffic: GET /ready answered 503 (after 60s)")


def test_failure_is_reported_but_not_failed_when_asked(run_module, codedeploy) -> None:
    codedeploy.next_script = [
        (0.0, {"status": "InProgress"}),
        (
            5.0,
            {
                "status": "Stopped",
                "errorInformation": {"code": "ALARM_ACTIVE", "message": "Alarm orders-5xx went off"},
            },
        ),
    ]
    strict = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert strict.failed
    assert strict["msg"] == (
        f"Deployment {strict['deployment_id']} stopped (ALARM_ACTIVE: Alarm orders-5xx went off). No rollback was "
        "made: check which task set serves production (status playbook)."
    )


def test_a_deployment_stopped_by_an_alarm_says_why_it_fired_and_what_it_cost(run_module, codedeploy) -> None:
    activated = (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
        "affected deployments have been stopped. Activated alarms: <orders-prod-error-rate-green>"
    )
    codedeploy.next_script = [
        (0.0, {"status": "InProgress"}),
        (5.0, {"status": "Stopped", "errorInformation": {"code": "ALARM_ACTIVE", "message": activated}}),
    ]
    cloudwatch, _ = fired_alarm_cloudwatch()
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy, "cloudwatch": cloudwatch})
    assert result.failed
    assert "deployment Stopped (was InProgress): stopped by the alarm(s) orders-prod-error-rate-green" in [
        line["message"] for line in result["progress"]
    ]
    assert result["alarm_failure_reason"].startswith(
        "orders-prod-error-rate-green: Threshold Crossed: 1 datapoint [30] Target group orders-prod-green since "
    )
    assert "100 requests, 30 answered 5XX or refused (30.0 %)" in result["msg"]
    assert "CloudWatch says: orders-prod-error-rate-green" in result["msg"]


def test_fail_on_rollback_false_returns_the_failure(run_module, codedeploy) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (5.0, {"status": "Failed"})]
    result = run_module(module, {**BASE_ARGS, "fail_on_rollback": False}, {"codedeploy": codedeploy})
    assert not result.failed
    assert result["status"] == "Failed"


def test_throttling_is_retried(run_module, codedeploy) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (10.0, {"status": "Succeeded"})]
    codedeploy.throttle("CreateDeployment", 2)
    codedeploy.throttle("GetDeployment", 3)
    codedeploy.throttle("BatchGetDeploymentTargets", 1)
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert not result.failed, result.get("msg")
    assert result["status"] == "Succeeded"
    assert len(codedeploy.called("CreateDeployment")) == 3  # two throttled, then created once


def test_attaches_to_an_active_deployment_of_the_same_revision(run_module, codedeploy) -> None:
    codedeploy.add(
        "d-RUNNING",
        [(0.0, {"status": "InProgress"}), (30.0, {"status": "Succeeded"})],
        sha256=DIGEST,
        content=CONTENT,
    )
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert not result.failed
    assert (result["changed"], result["attached"], result["deployment_id"]) == (False, True, "d-RUNNING")
    assert result["status"] == "Succeeded"
    assert codedeploy.called("CreateDeployment") == []


def test_same_revision_already_deployed_is_a_no_op(run_module, codedeploy) -> None:
    codedeploy.add("d-DONE", [(-60.0, {"status": "Succeeded"})], sha256=DIGEST, content=CONTENT)
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert (result["changed"], result["attached"], result["deployment_id"]) == (False, True, "d-DONE")
    assert codedeploy.called("CreateDeployment") == []


def test_another_active_revision_blocks_with_its_name(run_module, codedeploy) -> None:
    other = render_json(build_appspec("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:41", "web", 8000))
    codedeploy.add("d-OTHER", [(0.0, {"status": "InProgress"})], sha256=sha256(other), content=other)
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"].startswith(
        "Deployment d-OTHER (InProgress, arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:41) is active "
        "in deployment group orders-prod: only one deployment can run at a time."
    )
    assert result["active_deployment_id"] == "d-OTHER"
    assert codedeploy.called("StopDeployment") == []
    assert codedeploy.called("CreateDeployment") == []


def test_replace_active_stops_with_rollback_then_deploys(run_module, codedeploy) -> None:
    codedeploy.add("d-OTHER", [(0.0, {"status": "InProgress"})], sha256="other")
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (5.0, {"status": "Succeeded"})]
    result = run_module(module, {**BASE_ARGS, "replace_active": True}, {"codedeploy": codedeploy})
    assert not result.failed, result.get("msg")
    assert codedeploy.called("StopDeployment") == [{"deploymentId": "d-OTHER", "autoRollbackEnabled": True}]
    assert result["replaced_deployment_id"] == "d-OTHER"
    assert result["replaced_deployment"]["rollback_info"]["rollback_deployment_status"] == "Succeeded"
    assert len(codedeploy.called("CreateDeployment")) == 1
    assert result["status"] == "Succeeded"


def test_check_mode_predicts_and_changes_nothing(run_module, codedeploy) -> None:
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert "deployment_id" not in result
    assert result["diff"]["after"] == {"revision_sha256": DIGEST, "task_definition": TASK_DEFINITION}
    assert result["diff"]["before"]["revision_sha256"] == "previous-revision"
    assert codedeploy.called("CreateDeployment") == []


def test_waits_at_ready_then_promote_continues(run_module, codedeploy, clock) -> None:
    codedeploy.next_script = [
        (0.0, {"status": "InProgress", "events": {"BeforeInstall": "Succeeded"}}),
        (
            8.0,
            {
                "status": "Ready",
                "events": {
                    "Install": "Succeeded",
                    "AfterInstall": "Succeeded",
                    "AllowTestTraffic": "Succeeded",
                    "AfterAllowTestTraffic": "Succeeded",
                    "BeforeAllowTraffic": "Succeeded",
                },
                "weights": (100, 0),
            },
        ),
    ]
    ready = run_module(module, {**BASE_ARGS, "wait_for": {"paused": True}}, {"codedeploy": codedeploy})
    assert not ready.failed
    assert (ready["status"], ready["reached"]) == ("Ready", True)

    clock.now += 120  # the operator looks at the test listener, then promotes
    promoted = run_module(
        module,
        {**OWN, "state": "continued"},
        {"codedeploy": codedeploy},
    )
    assert not promoted.failed, promoted.get("msg")
    assert promoted["changed"] is True
    assert codedeploy.called("ContinueDeployment") == [
        {"deploymentId": ready["deployment_id"], "deploymentWaitType": "READY_WAIT"}
    ]
    assert promoted["status"] == "Succeeded"

    again = run_module(
        module,
        {**OWN, "deployment_id": ready["deployment_id"], "state": "continued"},
        {"codedeploy": codedeploy},
    )
    assert again["changed"] is False
    assert len(codedeploy.called("ContinueDeployment")) == 1


def test_continue_refuses_a_deployment_not_at_ready(run_module, codedeploy) -> None:
    codedeploy.add("d-EARLY", [(0.0, {"status": "InProgress", "events": {"BeforeInstall": "InProgress"}})])
    result = run_module(
        module,
        {**OWN, "deployment_id": "d-EARLY", "state": "continued"},
        {"codedeploy": codedeploy},
    )
    assert result.failed
    assert result["msg"] == "Deployment d-EARLY is InProgress, not waiting at Ready: promote it once it reaches Ready"
    assert codedeploy.called("ContinueDeployment") == []


def test_stop_with_rollback_waits_for_the_rollback(run_module, codedeploy) -> None:
    codedeploy.add("d-LIVE", [(0.0, {"status": "InProgress", "weights": (50, 50)})])
    result = run_module(
        module,
        {**OWN, "state": "stopped"},
        {"codedeploy": codedeploy},
    )
    assert not result.failed, result.get("msg")
    assert result["changed"] is True
    assert codedeploy.called("StopDeployment") == [{"deploymentId": "d-LIVE", "autoRollbackEnabled": True}]
    assert result["status"] == "Stopped"
    rollback = result["deployment"]["rollback_info"]
    assert rollback["rollback_deployment_status"] == "Succeeded"

    nothing = run_module(
        module,
        {**OWN, "state": "stopped"},
        {"codedeploy": codedeploy},
    )
    assert nothing["changed"] is False
    assert nothing["msg"] == "No active deployment in the group: nothing to stop"


def test_a_follow_up_step_of_a_stop_keeps_its_meaning(run_module, codedeploy) -> None:
    """With report_every, later steps follow the stopped deployment: its successful rollback is the expected
    end, not a failure, and the stop is not sent again."""
    codedeploy.add("d-LIVE", [(0.0, {"status": "InProgress", "weights": (50, 50)})])
    first = run_module(
        module,
        {**OWN, "deployment_id": "d-LIVE", "state": "stopped", "wait": False},
        {"codedeploy": codedeploy},
    )
    assert first["changed"] is True
    followed = run_module(
        module,
        {**OWN, "deployment_id": "d-LIVE", "state": "stopped", "follow": True},
        {"codedeploy": codedeploy},
    )
    assert not followed.failed, followed.get("msg")
    assert followed["status"] == "Stopped"
    assert followed["deployment"]["rollback_info"]["rollback_deployment_status"] == "Succeeded"
    assert len(codedeploy.called("StopDeployment")) == 1


def test_timeout_fail_leaves_it_running(run_module, codedeploy) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"})]
    result = run_module(module, {**BASE_ARGS, "wait_timeout": 30}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["timed_out"] is True
    assert "is InProgress and was left running (on_timeout=fail)" in result["msg"]
    assert codedeploy.called("StopDeployment") == []


def test_timeout_rollback_stops_it(run_module, codedeploy) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"})]
    result = run_module(module, {**BASE_ARGS, "wait_timeout": 30, "on_timeout": "rollback"}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"].startswith("Timed out after 30s waiting for a terminal status; stopped deployment")
    assert "production traffic is back on the original task set" in result["msg"]
    assert codedeploy.called("StopDeployment")[0]["autoRollbackEnabled"] is True


def test_progress_mode_returns_at_each_change(run_module, codedeploy, clock) -> None:
    codedeploy.next_script = LINEAR_HAPPY_PATH
    first = run_module(
        module,
        {**BASE_ARGS, "wait_for": {"progress": True}, "wait_timeout": 60, "on_timeout": "return"},
        {"codedeploy": codedeploy},
    )
    assert not first.failed
    assert first["reached"] is True
    assert first["progress"]
    clock.now = 50.0
    quiet = run_module(
        module,
        {**BASE_ARGS, "wait_for": {"progress": True}, "wait_timeout": 20, "on_timeout": "return"},
        {"codedeploy": codedeploy},
    )
    # Attached to the same deployment; nothing changed for 20 s: it returns without failing.
    assert (quiet["attached"], quiet["timed_out"], quiet["progress"]) == (True, True, [])
    assert len(codedeploy.called("CreateDeployment")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"task_definition": "orders:42"},
            "Cannot render the AppSpec: task_definition_arn 'orders:42' is not a task definition ARN with a revision",
        ),
        (
            {"placement": None},
            "placement needs container_name, container_port to deploy through CodeDeploy (the AppSpec)",
        ),
        (
            {"placement": {**PLACEMENT, "network_configuration": {"subnets": ["subnet-0a1b2c3d"]}}},
            "Cannot render the AppSpec: network_configuration needs subnets, security_groups and assign_public_ip",
        ),
        ({"state": "present", "task_definition": None}, "task_definition is required with state=present"),
        (
            {"wait_for": {"replacement_traffic_percent": 0}},
            "wait_for.replacement_traffic_percent must be 1 to 100",
        ),
        ({"wait_timeout": 0}, "wait_timeout must be a positive number of seconds, got 0"),
        ({"wait_for": {"paused": True, "progress": True}}, "parameters are mutually exclusive"),
        ({"traffic": {"type": "linar"}}, "traffic.type is 'linar': one of all_at_once, linear, canary"),
        ({"traffic": {"type": "linear", "percent": 10}}, "traffic.interval_minutes is None: a whole number from 1"),
        ({"traffic": {"type": "canary", "percent": 10, "interval_minutes": 5, "steps": 3}}, "unknown key(s) steps"),
    ],
)
def test_bad_input_fails_before_any_change(run_module, codedeploy, args, message) -> None:
    result = run_module(module, {**BASE_ARGS, **args}, {"codedeploy": codedeploy})
    assert result.failed
    assert message in result["msg"]
    assert codedeploy.calls == []  # refused before any call


def test_missing_group_says_to_provision(run_module, codedeploy) -> None:
    codedeploy.group_exists = False
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == (
        "Deployment group orders-prod of application orders does not exist: provision the environment first"
    )


def test_report_every_returns_at_each_change_then_follows_by_id(run_module, codedeploy, clock) -> None:
    """What the action plugin does: step, print, follow the same deployment until the wait is over."""
    codedeploy.next_script = LINEAR_HAPPY_PATH
    args = {**BASE_ARGS, "report_every": 60}
    step = run_module(module, args, {"codedeploy": codedeploy})
    assert (step["changed"], step["finished"]) == (True, False)
    deployment_id = step["deployment_id"]
    returned_at, seen = [clock.now], list(step["progress"])
    while not step["finished"]:
        step = run_module(
            module,
            {**args, "deployment_id": deployment_id, "follow": True, "progress_since": step["deployment"]},
            {"codedeploy": codedeploy},
        )
        assert step["deployment_id"] == deployment_id
        assert step["changed"] is False
        seen.extend(step["progress"])
        returned_at.append(clock.now)
    assert step["status"] == "Succeeded"
    assert not step.failed
    assert len(codedeploy.called("CreateDeployment")) == 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(returned_at)]
    assert max(gaps) <= 60  # never silent for longer than report_every
    assert len(returned_at) >= 6  # and a return at each change, not only once a minute
    assert [entry["message"] for entry in seen][-1] == "deployment Succeeded (was InProgress)"
    messages = [entry["message"] for entry in seen]
    assert "traffic: original 70% / replacement 30%" in messages, "\n".join(messages)


def test_following_a_failed_deployment_fails_with_its_reason(run_module, codedeploy) -> None:
    codedeploy.add(
        "d-GONE", [(0.0, {"status": "Failed", "errorInformation": {"code": "TIMEOUT", "message": "Hook timed out"}})]
    )
    result = run_module(
        module,
        {**OWN, "deployment_id": "d-GONE", "report_every": 60},
        {"codedeploy": codedeploy},
    )
    assert result.failed
    assert result["msg"].startswith("Deployment d-GONE failed (TIMEOUT: Hook timed out).")


@pytest.mark.parametrize(
    ("traffic", "config"),
    [
        # A plan CodeDeploy predefines is named as CodeDeploy names it.
        ({"type": "linear", "percent": 10, "interval_minutes": 1}, "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"),
        ({"type": "all_at_once"}, "CodeDeployDefault.ECSAllAtOnce"),
        # Another is the environment's own config (the codedeploy role provisions it under this name).
        ({"type": "linear", "percent": 20, "interval_minutes": 1}, "orders-prod-linear-20-every-1"),
        ({"type": "canary", "percent": 5, "interval_minutes": 10, "bake_minutes": 30}, "orders-prod-canary-5-then-10"),
    ],
)
def test_the_traffic_plan_names_the_deployment_config(run_module, codedeploy, traffic, config) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (5.0, {"status": "Succeeded"})]
    result = run_module(module, {**BASE_ARGS, "traffic": traffic}, {"codedeploy": codedeploy})
    assert not result.failed, result.get("msg")
    (created,) = codedeploy.called("CreateDeployment")
    assert created["deploymentConfigName"] == config
    assert created["revision"]["appSpecContent"] == {"content": CONTENT, "sha256": DIGEST}


def test_without_a_traffic_plan_the_group_s_config_is_used(run_module, codedeploy) -> None:
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (5.0, {"status": "Succeeded"})]
    run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    (created,) = codedeploy.called("CreateDeployment")
    assert "deploymentConfigName" not in created


# -- state=rolled_back ----------------------------------------------------------------------------------------------


def _deployed_history(codedeploy: FakeCodeDeploy) -> str:
    """orders:41 then orders:42 deployed and succeeded (42 serves). orders:41's AppSpec was rendered with another
    container port and no hooks: a rollback redeploys it as it was, not as today's placement would render it.
    Returns orders:41's AppSpec content."""
    digest, content = _revision(EARLIER, network_configuration=NETWORK)
    codedeploy.add("d-V41", [(-800.0, {"status": "Succeeded"})], sha256=digest, content=content)
    codedeploy.add("d-V42", [(-400.0, {"status": "Succeeded"})], sha256=DIGEST, content=CONTENT)
    return content


def test_rolled_back_stops_the_active_deployment_with_rollback(run_module, codedeploy) -> None:
    _deployed_history(codedeploy)
    digest, content = _revision("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:43")
    codedeploy.add("d-LIVE", [(0.0, {"status": "InProgress", "weights": (50, 50)})], sha256=digest, content=content)
    result = run_module(module, {**OWN, "state": "rolled_back"}, {"codedeploy": codedeploy})
    assert not result.failed, result.get("msg")
    assert (result["changed"], result["rollback_mode"], result["deployment_id"]) == (True, "stopped", "d-LIVE")
    assert codedeploy.called("StopDeployment") == [{"deploymentId": "d-LIVE", "autoRollbackEnabled": True}]
    assert result["deployment"]["rollback_info"]["rollback_deployment_status"] == "Succeeded"
    # CodeDeploy's rollback deployed the last successful revision again: production serves orders:42.
    assert result["serving"] == TASK_DEFINITION
    assert codedeploy.called("CreateDeployment") == []


def test_rolled_back_after_a_deployment_redeploys_the_earlier_appspec_as_it_was(run_module, codedeploy) -> None:
    earlier = _deployed_history(codedeploy)
    codedeploy.next_script = [(0.0, {"status": "InProgress"}), (30.0, {"status": "Succeeded"})]
    result = run_module(
        module, {**OWN, "state": "rolled_back", "traffic": {"type": "all_at_once"}}, {"codedeploy": codedeploy}
    )
    assert not result.failed, result.get("msg")
    assert (result["changed"], result["rollback_mode"], result["rollback_to"]) == (True, "redeployed", EARLIER)
    assert codedeploy.called("CreateDeployment") == [
        {
            "applicationName": "orders",
            "deploymentGroupName": "orders-prod",
            "description": "rollback to orders:41",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": earlier, "sha256": sha256(earlier)},
            },
        }
    ]
    assert codedeploy.called("StopDeployment") == []
    assert result["status"] == "Succeeded"
    assert result["serving"] == EARLIER


def test_rolled_back_in_check_mode_predicts_without_deploying(run_module, codedeploy) -> None:
    _deployed_history(codedeploy)
    result = run_module(module, {**OWN, "state": "rolled_back"}, {"codedeploy": codedeploy}, check_mode=True)
    assert not result.failed, result.get("msg")
    assert (result["changed"], result["rollback_mode"], result["rollback_to"]) == (True, "redeployed", EARLIER)
    assert "serving" not in result
    assert codedeploy.called("CreateDeployment") == []


def test_rolled_back_steps_follow_the_redeploy_without_deploying_again(run_module, codedeploy, clock) -> None:
    """What the action plugin does with report_every: later steps follow the first step's redeploy (its mode comes
    back in `resume`), even once it has succeeded and orders:42 is the earlier revision to roll back to."""
    _deployed_history(codedeploy)
    codedeploy.next_script = LINEAR_HAPPY_PATH
    args = {**OWN, "state": "rolled_back", "report_every": 60}
    step = run_module(module, args, {"codedeploy": codedeploy})
    assert (step["changed"], step["finished"], step["rollback_mode"]) == (True, False, "redeployed")
    follow = {**args, **step["resume"], "follow": True, "deployment_id": step["deployment_id"]}
    while not step["finished"]:
        step = run_module(module, {**follow, "progress_since": step["deployment"]}, {"codedeploy": codedeploy})
        assert not step.failed, step.get("msg")
    assert (step["status"], step["rollback_mode"], step["serving"]) == ("Succeeded", "redeployed", EARLIER)
    assert len(codedeploy.called("CreateDeployment")) == 1
    assert codedeploy.called("StopDeployment") == []


def test_rolled_back_steps_follow_the_stop_as_a_stop(run_module, codedeploy) -> None:
    _deployed_history(codedeploy)
    digest, content = _revision("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:43")
    codedeploy.add("d-LIVE", [(0.0, {"status": "InProgress", "weights": (50, 50)})], sha256=digest, content=content)
    args = {**OWN, "state": "rolled_back", "report_every": 1}
    step = run_module(module, args, {"codedeploy": codedeploy})
    assert (step["finished"], step["rollback_mode"], step["deployment_id"]) == (False, "stopped", "d-LIVE")
    follow = {**args, **step["resume"], "follow": True, "deployment_id": "d-LIVE"}
    while not step["finished"]:
        step = run_module(module, {**follow, "progress_since": step["deployment"]}, {"codedeploy": codedeploy})
        assert not step.failed, step.get("msg")  # its rollback is what was asked, not a failure
    assert (step["status"], step["rollback_mode"], step["serving"]) == ("Stopped", "stopped", TASK_DEFINITION)
    assert len(codedeploy.called("StopDeployment")) == 1
    assert codedeploy.called("CreateDeployment") == []


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "The service has no successful deployment: nothing to roll back to"),
        (
            [("d-V42", "Succeeded")],
            f"No earlier successful revision than {TASK_DEFINITION} among the last 1 successful deployments: nothing "
            "to roll back to",
        ),
        ([("d-V42", "Failed")], "The service has no successful deployment: nothing to roll back to"),
    ],
)
def test_rolled_back_with_nothing_to_roll_back_to_fails_saying_why(run_module, clock, history, message) -> None:
    codedeploy = FakeCodeDeploy(clock)
    for deployment_id, status in history:
        codedeploy.add(deployment_id, [(-400.0, {"status": status})], sha256=DIGEST, content=CONTENT)
    result = run_module(module, {**OWN, "state": "rolled_back"}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == message
    assert codedeploy.called("CreateDeployment") == []
    assert codedeploy.called("StopDeployment") == []


def test_check_mode_predicts_a_stop_a_promote_and_a_rollback_without_calling_them(run_module, codedeploy) -> None:
    codedeploy.add("d-READY", [(0.0, {"status": "Ready", "weights": (100, 0)})])
    for args in ({"state": "stopped"}, {"state": "continued"}, {"state": "rolled_back"}):
        result = run_module(module, {**OWN, **args}, {"codedeploy": codedeploy}, check_mode=True)
        assert not result.failed, (args, result.get("msg"))
        assert (result["changed"], result["deployment_id"]) == (True, "d-READY"), args
    assert codedeploy.called("StopDeployment") == []
    assert codedeploy.called("ContinueDeployment") == []


def test_with_a_progress_file_the_whole_wait_is_one_run_and_each_change_is_written_as_seen(
    run_module, codedeploy, clock, tmp_path
) -> None:
    """The action plugin's local path: the module writes each change to the file while it waits, and a line when
    nothing changed for report_every seconds, and returns only at the end."""
    progress = tmp_path / "progress.jsonl"
    codedeploy.next_script = LINEAR_HAPPY_PATH
    result = run_module(
        module, {**BASE_ARGS, "report_every": 30, "progress_file": str(progress)}, {"codedeploy": codedeploy}
    )
    assert result["finished"] is True
    assert result["status"] == "Succeeded"
    written = [json.loads(line) for line in progress.read_text().splitlines()]
    messages = [entry["message"] for entry in written if "message" in entry]
    assert messages == [entry["message"] for entry in result["progress"]]
    assert all(entry["deployment_id"] == result["deployment_id"] for entry in written)
    assert any("still" in entry for entry in written), "a quiet stretch longer than report_every is said"


def test_the_deployment_s_target_is_listed_once_per_wait(run_module, codedeploy) -> None:
    """An ECS deployment has one target, its service, from start to end: the wait lists it once and then only reads
    it (BatchGetDeploymentTargets), so a long deployment costs one call a read, not two."""
    codedeploy.next_script = LINEAR_HAPPY_PATH
    result = run_module(module, BASE_ARGS, {"codedeploy": codedeploy})
    assert result["status"] == "Succeeded"
    assert len(codedeploy.called("ListDeploymentTargets")) == 1
    assert len(codedeploy.called("BatchGetDeploymentTargets")) > 3

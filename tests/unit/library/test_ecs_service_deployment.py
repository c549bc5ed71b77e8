"""ecs_service_deployment: deploy / attach / wait / stop / continue an ECS-native blue/green deployment, against
a scripted ECS whose every request and answer is checked against botocore's model (tests/botocore_fake.py)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import ecs_service_deployment as module
import ecs_service_deployment_info as info
import pytest

from tests.unit.library.fake_aws import FakeClock, FakeService, fired_alarm_cloudwatch

CLUSTER, SERVICE = "orders-prod", "orders-prod"
ARN = "arn:aws:ecs:eu-west-1:123456789012"
OLD_TD, NEW_TD = f"{ARN}:task-definition/orders-prod:41", f"{ARN}:task-definition/orders-prod:42"
OLD_REV, NEW_REV = f"{ARN}:service-revision/{CLUSTER}/{SERVICE}/111", f"{ARN}:service-revision/{CLUSTER}/{SERVICE}/222"
HOOK = f"{ARN}:function:orders-prod-"
BASE = {"cluster": CLUSTER, "service": SERVICE}
EPOCH = 1_795_000_000  # the fake clock's zero, as a time of day (deployments carry startedAt / finishedAt)


def _hook(name: str, status: str, kind: str = "AWS_LAMBDA") -> dict:
    hook = {"hookId": name, "targetType": kind, "status": status}
    if kind == "AWS_LAMBDA":
        hook["targetArn"] = HOOK + name
    return hook


# A LINEAR 50 % deployment, step by step: (seconds since UpdateService, what changed).
LINEAR = [
    (
        0.0,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "PRE_SCALE_UP",
            "hooks": [_hook("validate-before-install", "IN_PROGRESS")],
        },
    ),
    (2.0, {"lifecycleStage": "SCALE_UP", "hooks": []}),
    (6.0, {"lifecycleStage": "POST_SCALE_UP", "hooks": [_hook("validate-deployment", "IN_PROGRESS")], "running": 2}),
    (9.0, {"lifecycleStage": "TEST_TRAFFIC_SHIFT", "hooks": [], "test": 100.0}),
    (
        11.0,
        {
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "hooks": [_hook("validate-test-traffic", "IN_PROGRESS"), _hook("run-migrations", "IN_PROGRESS")],
        },
    ),
    (15.0, {"hooks": [_hook("validate-test-traffic", "SUCCEEDED"), _hook("run-migrations", "SUCCEEDED")]}),
    (16.0, {"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT", "hooks": [], "prod": 50.0}),
    (76.0, {"prod": 100.0}),
    (77.0, {"lifecycleStage": "POST_PRODUCTION_TRAFFIC_SHIFT", "hooks": [_hook("validate-production", "IN_PROGRESS")]}),
    (80.0, {"lifecycleStage": "BAKE_TIME", "hooks": []}),
    (140.0, {"lifecycleStage": "CLEAN_UP"}),
    (142.0, {"status": "SUCCESSFUL"}),
]


class FakeEcs(FakeService):
    """One ECS-native blue/green service; each deployment follows a script on the simulated clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("ecs")
        self.clock = clock
        self.controller, self.strategy = "ECS", "LINEAR"
        self.task_definition = OLD_TD
        self.deployments: dict[str, dict] = {}
        self.next_script = LINEAR
        # ListServiceDeployments may answer fewer than maxResults (its reference says so) and pages of 20 without it.
        self.page_limit = 20
        self.handlers.update(
            DescribeServices=self._describe_services,
            UpdateService=self._update_service,
            ListServiceDeployments=self._list,
            DescribeServiceDeployments=self._describe,
            DescribeServiceRevisions=self._revisions,
            StopServiceDeployment=self._stop,
            ContinueServiceDeployment=self._continue,
        )

    def add(self, arn: str, task_definition: str, script, started: float = 0.0) -> None:
        self.deployments[arn] = {"task_definition": task_definition, "script": list(script), "started": started}

    def state(self, arn: str) -> dict:
        d = self.deployments[arn]
        state = {"status": "PENDING", "lifecycleStage": None, "hooks": [], "running": 0, "prod": 0.0, "test": 0.0}
        for at, changes in d["script"]:
            if d["started"] + at > self.clock.now:
                break
            state.update(copy.deepcopy(changes))
        return state

    def _describe_services(self, params):
        current = next(reversed(self.deployments), None)
        service = {
            "serviceName": SERVICE,
            "status": "ACTIVE",
            "taskDefinition": self.task_definition,
            "deploymentController": {"type": self.controller},
            "deploymentConfiguration": {"strategy": self.strategy},
        }
        if current:
            service["currentServiceDeployment"] = current
        return {"services": [service], "failures": []}

    def _update_service(self, params):
        arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D{len(self.deployments) + 1}"
        self.add(arn, params["taskDefinition"], self.next_script, started=self.clock.now)
        self.task_definition = params["taskDefinition"]
        return {"service": {"serviceName": SERVICE, "currentServiceDeployment": arn}}

    def _brief(self, arn: str) -> dict:
        revision = NEW_REV if self.deployments[arn]["task_definition"] == NEW_TD else OLD_REV
        # Created in the order added (a millisecond apart when added at the same moment of the clock).
        created = EPOCH + self.deployments[arn]["started"] + list(self.deployments).index(arn) / 1000
        return {
            "serviceDeploymentArn": arn,
            "status": self.state(arn)["status"],
            "targetServiceRevisionArn": revision,
            "createdAt": datetime.fromtimestamp(created, UTC),
        }

    def _list(self, params):
        """Oldest first, in pages of maxResults (20 by default), as the sandbox answers: ECS documents no order."""
        briefs = sorted((self._brief(arn) for arn in self.deployments), key=lambda b: b["createdAt"])
        briefs = [b for b in briefs if not params.get("status") or b["status"] in params["status"]]
        start, size = int(params.get("nextToken") or 0), min(params.get("maxResults", 20), self.page_limit)
        page = {"serviceDeployments": briefs[start : start + size]}
        if start + size < len(briefs):
            page["nextToken"] = str(start + size)
        return page

    def _describe(self, params):
        found = []
        for arn in params["serviceDeploymentArns"]:
            state = self.state(arn)
            deployment = {
                "serviceDeploymentArn": arn,
                "status": state["status"],
                "targetServiceRevision": {
                    "arn": self._brief(arn)["targetServiceRevisionArn"],
                    "requestedTaskCount": 2,
                    "runningTaskCount": state["running"],
                    "pendingTaskCount": 0,
                    "requestedProductionTrafficWeight": state["prod"],
                    "requestedTestTrafficWeight": state["test"],
                },
                "sourceServiceRevisions": [{"arn": OLD_REV}],
                "lifecycleHookDetails": state["hooks"],
                "startedAt": datetime.fromtimestamp(EPOCH + self.deployments[arn]["started"], UTC),
            }
            if state["status"] in ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
                deployment["finishedAt"] = datetime.fromtimestamp(EPOCH + self.clock.now, UTC)
            if state["lifecycleStage"]:
                deployment["lifecycleStage"] = state["lifecycleStage"]
            for key in ("rollback", "alarms", "statusReason"):
                if key in state:
                    deployment[key] = state[key]
            found.append(deployment)
        return {"serviceDeployments": found, "failures": []}

    def _revisions(self, params):
        return {
            "serviceRevisions": [
                {"serviceRevisionArn": a, "taskDefinition": NEW_TD if a == NEW_REV else OLD_TD}
                for a in params["serviceRevisionArns"]
            ],
            "failures": [],
        }

    def _stop(self, params):
        arn = params["serviceDeploymentArn"]
        now = self.clock.now - self.deployments[arn]["started"]
        self.deployments[arn]["script"] = [step for step in self.deployments[arn]["script"] if step[0] <= now] + [
            (now + 0.5, {"status": "ROLLBACK_IN_PROGRESS", "prod": 0.0}),
            (
                now + 4.0,
                {
                    "status": "ROLLBACK_SUCCESSFUL",
                    "rollback": {"reason": "Stopped by the user", "serviceRevisionArn": OLD_REV},
                },
            ),
        ]
        return {"serviceDeploymentArn": arn}

    def _continue(self, params):
        arn = params["serviceDeploymentArn"]
        now = self.clock.now - self.deployments[arn]["started"]
        self.deployments[arn]["script"] = [step for step in self.deployments[arn]["script"] if step[0] <= now] + [
            (now + 0.5, {"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT", "hooks": [], "prod": 100.0}),
            (now + 2.0, {"status": "SUCCESSFUL", "lifecycleStage": "CLEAN_UP"}),
        ]
        return {"serviceDeploymentArn": arn}


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
        ("CODE_DEPLOY", "ROLLING", "uses the CODE_DEPLOY deployment controller: deploy it with codedeploy_deployment"),
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


def test_the_info_module_reads_the_history_newest_first_with_each_task_definition(run_module, ecs, clock) -> None:
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", OLD_TD, LINEAR, started=-500)
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D1", NEW_TD, LINEAR)
    clock.now = 20.0
    result = run_module(info, BASE, {"ecs": ecs})
    assert [d["service_deployment_arn"].rsplit("/", 1)[-1] for d in result["deployments"]] == ["D1", "D0"]
    assert [d["task_definition"] for d in result["deployments"]] == [NEW_TD, OLD_TD]
    assert [d["status"] for d in result["deployments"]] == ["IN_PROGRESS", "SUCCESSFUL"]
    assert result["service"]["controller"] == "ECS"
    assert result["service"]["strategy"] == "LINEAR"
    active = run_module(info, {**BASE, "statuses": ["active"]}, {"ecs": ecs})
    assert [d["status"] for d in active["deployments"]] == ["IN_PROGRESS"]
    assert ecs.called("ListServiceDeployments")[-1]["status"] == sorted(
        ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
    )
    one = run_module(info, {**BASE, "deployment_id": f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"}, {"ecs": ecs})
    assert len(one["deployments"]) == 1
    assert run_module(info, {**BASE, "max_results": 0}, {"ecs": ecs}).failed


def _history(ecs: FakeEcs, count: int) -> list[str]:
    """`count` finished deployments a minute apart, alternating the two task definitions, the last one OLD_TD (what
    the service runs); ECS lists them oldest first, two a page. Their ARNs, oldest first."""
    arns = []
    for index in range(count):
        arn = f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/H{index}"
        ecs.add(arn, OLD_TD if (count - index) % 2 else NEW_TD, LINEAR, started=-60.0 * (count - index) - 500)
        arns.append(arn)
    ecs.page_limit = 2
    return arns


def test_the_info_module_gives_the_newest_deployments_whatever_order_and_pages_ecs_answers_in(run_module, ecs) -> None:
    """The rollback playbook takes the first successful deployment of another task definition from this history,
    the status playbook its first as the latest: both need the newest first, from every page."""
    arns = _history(ecs, 7)
    result = run_module(info, {**BASE, "max_results": 3}, {"ecs": ecs})
    assert [d["deployment_id"] for d in result["deployments"]] == arns[::-1][:3]
    assert [d["task_definition"] for d in result["deployments"]] == [OLD_TD, NEW_TD, OLD_TD]
    assert len(ecs.called("ListServiceDeployments")) == 4  # 7 deployments, 2 a page
    assert all(call["maxResults"] == 100 for call in ecs.called("ListServiceDeployments"))


def test_the_deployment_in_progress_is_found_on_any_page_and_the_newest_of_two_is_named(run_module, ecs) -> None:
    _history(ecs, 5)
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/Replaced", OLD_TD, [(0.0, {"status": "STOP_REQUESTED"})])
    ecs.add(f"{ARN}:service-deployment/{CLUSTER}/{SERVICE}/Newest", OLD_TD, LINEAR)
    result = run_module(module, {**BASE, "task_definition": NEW_TD}, {"ecs": ecs})
    assert result.failed
    assert "service deployment Newest of another revision is IN_PROGRESS" in result["msg"]
    assert ecs.called("UpdateService") == []


def test_a_failed_hook_fails_the_task_with_the_reason_it_logged(run_module, ecs) -> None:
    ecs.next_script = [
        *LINEAR[:3],
        (6.0, {"stage": "POST_TEST_TRAFFIC_SHIFT", "hooks": [_hook("validate-test-traffic", "FAILED")]}),
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

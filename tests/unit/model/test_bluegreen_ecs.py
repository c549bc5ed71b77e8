"""ECS-native blue/green, the pure part: traffic plans as ECS strategies, hooks at stages, the deployment's log
lines (module_utils/model/ecs.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import pytest
from ansible.errors import AnsibleFilterError
from botocore.stub import Stubber

from filter_plugins.bluegreen import FilterModule
from module_utils.ecs import deployments as view
from module_utils.model import ecs
from module_utils.model.names import LIFECYCLE_HOOKS, names
from module_utils.model.traffic import ecs_strategy, plan

ROLE = "arn:aws:iam::123456789012:role/orders-prod-ecs-hooks"
REVISION_111 = "arn:aws:ecs:eu-west-1:123456789012:service-revision/orders-prod/orders-prod/111"
ARNS = {suffix: f"arn:aws:lambda:eu-west-1:123456789012:function:orders-prod-{suffix}" for _, suffix in LIFECYCLE_HOOKS}


def _enum(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("ecs")
    found = model.shape_for(shape)
    return list(getattr(found, "enum", None) or found.member.enum)


def test_stage_and_status_names_are_botocores():
    assert list(ecs.STAGES) == _enum("ServiceDeploymentLifecycleStage")
    assert list(ecs.HOOK_STAGES) == _enum("DeploymentLifecycleHookStageList")
    statuses = _enum("ServiceDeploymentStatus")
    assert sorted(ecs.TERMINAL_STATUSES + ecs.ACTIVE_STATUSES) == sorted(statuses)
    assert list(ecs.HOOK_STATUSES) == _enum("DeploymentLifecycleHookStatus")
    assert set(ecs.CHECK_STAGES.values()) <= set(ecs.HOOK_STAGES)
    # Every check has a stage; no two checks that must run in order share a stage unless documented.
    assert set(ecs.CHECK_STAGES) == {suffix for _, suffix in LIFECYCLE_HOOKS}


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        ({"type": "AllAtOnce"}, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}),
        (
            {"type": "TimeBasedCanary", "percentage": 10, "interval": 5},
            {
                "strategy": "CANARY",
                "bakeTimeInMinutes": 5,
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
            },
        ),
        (
            {"type": "TimeBasedLinear", "percentage": 10, "interval": 5},
            {
                "strategy": "LINEAR",
                "bakeTimeInMinutes": 5,
                "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 5},
            },
        ),
    ],
)
def test_traffic_routings_map_onto_ecs_strategies(routing, expected):
    """The plans' words (all at once, canary, linear) as ECS strategies; model/traffic.py gives the routing
    (tests/unit/model/test_traffic.py)."""
    assert ecs.deployment_strategy(routing, 5) == expected


def test_traffic_steps_follow_the_strategy():
    assert ecs.traffic_steps({"strategy": "BLUE_GREEN"}) == [100.0]
    assert ecs.traffic_steps({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}}) == [10.0, 100.0]
    linear = ecs.deployment_strategy({"type": "TimeBasedLinear", "percentage": 20, "interval": 1}, 1)
    assert ecs.traffic_steps(linear) == [20.0, 40.0, 60.0, 80.0, 100.0]
    thirty = ecs.deployment_strategy({"type": "TimeBasedLinear", "percentage": 30, "interval": 1}, 1)
    assert ecs.traffic_steps(thirty) == [30.0, 60.0, 90.0, 100.0]


@pytest.mark.parametrize(
    ("plan", "bake", "message"),
    [
        ({"type": "TimeBasedLinear", "percentage": 2, "interval": 1}, 5, "an ECS LINEAR step is 3 to 100 percent"),
        ({"type": "TimeBasedCanary", "percentage": 0.05, "interval": 1}, 5, "multiples of 0.1"),
        ({"type": "TimeBasedCanary", "percentage": 10, "interval": 1441}, 5, "0 to 1440 minutes"),
        ({"type": "TimeBasedCanary", "percentage": 10, "interval": 1.5}, 5, "a whole number of minutes"),
        ({"type": "AllAtOnce"}, -1, r"bluegreen_traffic\.bake_minutes"),
        ({"type": "Weighted"}, 5, "use AllAtOnce, TimeBasedLinear or TimeBasedCanary"),
    ],
)
def test_plans_ecs_refuses_are_refused_before_anything_changes(plan, bake, message):
    with pytest.raises(ecs.EcsPlanError, match=message):
        ecs.deployment_strategy(plan, bake)


def test_controller_switch_is_checked():
    assert ecs.controller("ecs") == "ecs"
    with pytest.raises(ecs.EcsPlanError, match=r"'codedeploy'.*'ecs'"):
        ecs.controller("ECS")


def test_each_check_runs_at_its_stage_and_promote_pauses_before_production():
    hooks = ecs.lifecycle_hooks(ARNS, ROLE, manual_promote_minutes=60)
    stages = [(h["targetType"], h.get("hookTargetArn", "").rsplit(":", 1)[-1], h["lifecycleStages"]) for h in hooks]
    assert stages == [
        ("AWS_LAMBDA", "orders-prod-validate-before-install", ["PRE_SCALE_UP"]),
        ("AWS_LAMBDA", "orders-prod-validate-deployment", ["POST_SCALE_UP"]),
        ("AWS_LAMBDA", "orders-prod-validate-test-traffic", ["POST_TEST_TRAFFIC_SHIFT"]),
        ("AWS_LAMBDA", "orders-prod-run-migrations", ["POST_TEST_TRAFFIC_SHIFT"]),
        ("AWS_LAMBDA", "orders-prod-validate-production", ["POST_PRODUCTION_TRAFFIC_SHIFT"]),
        ("PAUSE", "", ["POST_TEST_TRAFFIC_SHIFT"]),
    ]
    assert all(h["roleArn"] == ROLE for h in hooks if h["targetType"] == "AWS_LAMBDA")
    assert hooks[-1]["timeoutConfiguration"] == {"timeoutInMinutes": 60, "action": "ROLLBACK"}
    assert "PAUSE" not in [h["targetType"] for h in ecs.lifecycle_hooks(ARNS, ROLE)]
    # No check runs at a stage that repeats per traffic step or during a rollback: each runs once.
    assert not set(ecs.CHECK_STAGES.values()) & set(ecs.PER_STEP_STAGES + ecs.ROLLBACK_STAGES)


def test_hooks_ecs_refuses_are_refused():
    with pytest.raises(ecs.EcsPlanError, match="PAUSE hook cannot be placed at PRODUCTION_TRAFFIC_SHIFT"):
        ecs.check_hooks([{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}])
    with pytest.raises(ecs.EcsPlanError, match="'BAKE_TIME' takes no hooks"):
        ecs.check_hooks([{"targetType": "AWS_LAMBDA", "hookTargetArn": "x", "lifecycleStages": ["BAKE_TIME"]}])
    with pytest.raises(ecs.EcsPlanError, match="needs hookTargetArn"):
        ecs.check_hooks([{"targetType": "AWS_LAMBDA", "lifecycleStages": ["PRE_SCALE_UP"]}])
    with pytest.raises(ecs.EcsPlanError, match="no ECS stage is known"):
        ecs.lifecycle_hooks({"validate-everything": "arn"}, ROLE)


def test_the_whole_deployment_configuration_is_valid_for_botocore():
    configuration = ecs.deployment_configuration(
        ecs.deployment_strategy({"type": "TimeBasedCanary", "percentage": 10, "interval": 5}, 5),
        ARNS,
        ROLE,
        manual_promote_minutes=30,
        alarm_names=["orders-prod-error-rate-green", "orders-prod-error-rate-blue"],
    )
    assert configuration["alarms"] == {
        "alarmNames": ["orders-prod-error-rate-blue", "orders-prod-error-rate-green"],
        "enable": True,
        "rollback": True,
    }
    assert "deploymentCircuitBreaker" not in configuration  # rolling updates only
    # botocore validates the request a module would send.
    client = botocore.session.get_session().create_client(
        "ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "update_service", {}, {"cluster": "c", "service": "s", "deploymentConfiguration": configuration}
        )
        client.update_service(cluster="c", service="s", deploymentConfiguration=configuration)


def _deployment(**overrides) -> dict:
    deployment = {
        "serviceDeploymentArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/orders-prod/orders-prod/AbC123",
        "status": "IN_PROGRESS",
        "lifecycleStage": "POST_SCALE_UP",
        "targetServiceRevision": {
            "arn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/orders-prod/orders-prod/222",
            "requestedTaskCount": 2,
            "runningTaskCount": 2,
            "pendingTaskCount": 0,
            "requestedProductionTrafficWeight": 0.0,
            "requestedTestTrafficWeight": 0.0,
        },
        "sourceServiceRevisions": [
            {"arn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/orders-prod/orders-prod/111"}
        ],
        "lifecycleHookDetails": [
            {
                "hookId": "h1",
                "targetType": "AWS_LAMBDA",
                "targetArn": ARNS["validate-deployment"],
                "status": "IN_PROGRESS",
            }
        ],
    }
    deployment.update(overrides)
    return deployment


def test_progress_lines_report_each_stage_hook_and_traffic_step():
    first = view.snapshot(_deployment())
    assert view.progress_lines(None, first) == [
        "deployment IN_PROGRESS",
        "stage POST_SCALE_UP",
        "hook orders-prod-validate-deployment IN_PROGRESS",
        "traffic: original 100% / replacement 0%",
    ]
    done = _deployment(
        lifecycleHookDetails=[
            {
                "hookId": "h1",
                "targetType": "AWS_LAMBDA",
                "targetArn": ARNS["validate-deployment"],
                "status": "SUCCEEDED",
            }
        ]
    )
    second = view.snapshot(done)
    assert view.progress_lines(first, second) == ["hook orders-prod-validate-deployment SUCCEEDED"]
    shifting = _deployment(lifecycleStage="PRODUCTION_TRAFFIC_SHIFT", lifecycleHookDetails=[])
    shifting["targetServiceRevision"]["requestedProductionTrafficWeight"] = 10.0
    third = view.snapshot(shifting)
    assert view.progress_lines(second, third) == [
        "stage PRODUCTION_TRAFFIC_SHIFT",
        "traffic: original 90% / replacement 10%",
    ]
    assert view.progress_lines(third, third) == []


def test_a_pause_says_what_continues_it():
    paused = view.snapshot(
        _deployment(
            lifecycleStage="POST_TEST_TRAFFIC_SHIFT",
            lifecycleHookDetails=[{"hookId": "p1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}],
        )
    )
    assert view.paused_hook(paused)["hook_id"] == "p1"
    assert "hook PAUSE AWAITING_ACTION: waiting for promote.yml (ContinueServiceDeployment)" in view.progress_lines(
        None, paused
    )


def test_a_rollback_by_an_alarm_names_the_alarm_and_what_serves_production():
    rolled = _deployment(
        status="ROLLBACK_SUCCESSFUL",
        lifecycleStage="PRODUCTION_TRAFFIC_SHIFT",
        lifecycleHookDetails=[],
        alarms={
            "status": "TRIGGERED",
            "alarmNames": ["a", "b"],
            "triggeredAlarmNames": ["orders-prod-error-rate-green"],
        },
        rollback={
            "reason": "CloudWatch alarm orders-prod-error-rate-green in ALARM",
            "serviceRevisionArn": "arn:aws:ecs:eu-west-1:1:service-revision/c/s/111",
        },
    )
    before = view.snapshot(_deployment(status="ROLLBACK_IN_PROGRESS"))
    snap = view.snapshot(rolled)
    assert view.is_terminal(snap)
    assert view.is_failure(snap)
    lines = view.progress_lines(before, snap)
    assert lines[-1] == (
        "deployment ROLLBACK_SUCCESSFUL (was ROLLBACK_IN_PROGRESS): rolled back by the alarm(s) "
        "orders-prod-error-rate-green"
    )
    assert view.failure_message(snap) == (
        "service deployment AbC123 ended ROLLBACK_SUCCESSFUL at stage PRODUCTION_TRAFFIC_SHIFT; alarm(s) "
        "orders-prod-error-rate-green in ALARM: CloudWatch alarm orders-prod-error-rate-green in ALARM. Production is "
        "served by the previous revision (111)."
    )


def test_a_failed_rollback_is_said_to_be_one():
    snap = view.snapshot(
        _deployment(
            status="ROLLBACK_FAILED",
            statusReason="listener rule not found",
            lifecycleHookDetails=[
                {
                    "hookId": "h",
                    "targetType": "AWS_LAMBDA",
                    "targetArn": ARNS["validate-production"],
                    "status": "TIMED_OUT",
                }
            ],
        )
    )
    message = view.failure_message(snap)
    assert "hook orders-prod-validate-production TIMED_OUT" in message
    assert "The rollback FAILED" in message
    assert "listener rule not found" in message


def _plan(value) -> dict:
    """A traffic plan as the bluegreen_traffic_plan filter gives it."""
    return FilterModule().filters()["bluegreen_traffic_plan"](value, names("orders", "prod"))


def test_the_filter_builds_the_configuration_and_refuses_a_bad_plan():
    build = FilterModule().filters()["bluegreen_ecs_deployment_configuration"]
    configuration = build(_plan("linear-10-every-5"), ARNS, ROLE, manual_promote_minutes=0)
    assert configuration["strategy"] == "LINEAR"
    assert configuration["linearConfiguration"] == {"stepPercent": 10.0, "stepBakeTimeInMinutes": 5}
    assert len(configuration["lifecycleHooks"]) == 5
    with pytest.raises(AnsibleFilterError, match="an ECS LINEAR step is 3 to 100 percent"):
        build(_plan("linear-1-every-5"), ARNS, ROLE)
    with pytest.raises(AnsibleFilterError, match=r"bluegreen_traffic\.type is 'weighted'"):
        build({**_plan("all_at_once"), "type": "weighted"}, ARNS, ROLE)


def test_a_deploys_plan_replaces_the_strategy_and_keeps_the_services_hooks_and_alarms():
    provisioned = ecs.deployment_configuration(
        ecs.deployment_strategy({"type": "TimeBasedLinear", "percentage": 20, "interval": 1}, 1),
        {"validate-deployment": "arn:aws:lambda:eu-west-1:123456789012:function:orders-prod-validate-deployment"},
        "arn:aws:iam::123456789012:role/orders-prod-ecs-hooks",
        alarm_names=["orders-prod-error-rate-blue"],
    )
    assert provisioned["strategy"] == "LINEAR"
    canary = ecs.with_strategy(provisioned, ecs_strategy(plan("canary-10-then-5", {"bake_minutes": 2})))
    assert canary["strategy"] == "CANARY"
    assert "linearConfiguration" not in canary
    assert canary["canaryConfiguration"]["canaryPercent"] == 10.0
    assert canary["bakeTimeInMinutes"] == 2
    assert canary["lifecycleHooks"] == provisioned["lifecycleHooks"]
    assert canary["alarms"] == provisioned["alarms"]
    assert (canary["maximumPercent"], canary["minimumHealthyPercent"]) == (200, 100)
    at_once = ecs.with_strategy(canary, ecs_strategy(plan("all_at_once", {"bake_minutes": 0})))
    assert {k: at_once[k] for k in ("strategy", "bakeTimeInMinutes")} == {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
    }
    assert "canaryConfiguration" not in at_once
    assert at_once["lifecycleHooks"] == provisioned["lifecycleHooks"]
    with pytest.raises(ecs.EcsPlanError, match="no lifecycle hooks"):
        ecs.with_strategy({"strategy": "ROLLING"}, ecs_strategy(plan("all_at_once", {"bake_minutes": 0})))
    with pytest.raises(ecs.EcsPlanError, match="no lifecycle hooks"):
        ecs.with_strategy({}, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})


def test_seconds_per_stage_add_up_over_the_whole_waits_timeline():
    def at(seconds: float, message: str) -> dict:
        return {"time": f"2026-11-29T13:00:{seconds:04.1f}Z", "elapsed_seconds": 0.0, "message": message}

    timeline = [
        at(0, "stage SCALE_UP"),
        at(4, "stage TEST_TRAFFIC_SHIFT"),
        at(5, "hook orders-validate-test-traffic IN_PROGRESS"),
        at(6, "stage PRODUCTION_TRAFFIC_SHIFT"),
        at(9, "traffic: original 50% / replacement 50%"),
        at(12, "stage BAKE_TIME"),
        at(15.5, "deployment SUCCESSFUL (was IN_PROGRESS)"),
    ]
    assert view.stage_seconds(timeline) == {
        "SCALE_UP": 4.0,
        "TEST_TRAFFIC_SHIFT": 2.0,
        "PRODUCTION_TRAFFIC_SHIFT": 6.0,
        "BAKE_TIME": 3.5,
    }
    assert view.stage_seconds([]) == {}


# ---------------------------------------------------------------------------------------------
# A service's deployments, newest first
# ---------------------------------------------------------------------------------------------

_DEPLOYMENT_ARN = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/orders-prod/orders-prod/"


def _brief(name: str, minute: int, status: str = "SUCCESSFUL") -> dict:
    return {
        "serviceDeploymentArn": _DEPLOYMENT_ARN + name,
        "status": status,
        "createdAt": datetime(2026, 11, 29, 13, minute, tzinfo=UTC),
    }


def test_every_page_of_service_deployments_is_read_and_the_newest_comes_first():
    """ListServiceDeployments documents no order: answered oldest first over three pages, the newest is still the
    first of the result, and every nextToken was followed (botocore checks each request and answer)."""
    client = botocore.session.get_session().create_client(
        "ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    request = {"cluster": "orders-prod", "service": "orders-prod", "status": ["SUCCESSFUL"], "maxResults": 2}
    pages = [
        ({"serviceDeployments": [_brief("D1", 1), _brief("D2", 2)], "nextToken": "t1"}, {}),
        ({"serviceDeployments": [_brief("D3", 3), _brief("D4", 4)], "nextToken": "t2"}, {"nextToken": "t1"}),
        ({"serviceDeployments": [_brief("D5", 5)]}, {"nextToken": "t2"}),
    ]
    with Stubber(client) as stub:
        for answer, token in pages:
            stub.add_response("list_service_deployments", answer, {**request, **token})
        briefs = view.service_deployment_briefs(client.list_service_deployments, **request)
        stub.assert_no_pending_responses()
    assert [b["serviceDeploymentArn"].rsplit("/", 1)[-1] for b in briefs] == ["D5", "D4", "D3", "D2", "D1"]


def test_newest_first_goes_by_creation_whatever_the_order_listed():
    shuffled = [_brief("B", 2), _brief("C", 3), _brief("A", 1)]
    assert [b["serviceDeploymentArn"][-1] for b in view.newest_first(shuffled)] == ["C", "B", "A"]
    # As JSON gives it (ISO 8601 or epoch seconds), and a deployment without a time after every timed one.
    loose = [
        {"serviceDeploymentArn": "x", "createdAt": "2026-11-29T13:01:00+00:00"},
        {"serviceDeploymentArn": "y"},
        {"serviceDeploymentArn": "z", "createdAt": datetime(2026, 11, 29, 13, 2, tzinfo=UTC).timestamp()},
    ]
    assert [b["serviceDeploymentArn"] for b in view.newest_first(loose)] == ["z", "x", "y"]


def test_the_filter_takes_a_plan_as_the_inventory_says_it():
    """ecs_service_traffic_plan is the environment's plan by default, and a plan as written may replace it."""
    build = FilterModule().filters()["bluegreen_ecs_deployment_configuration"]
    configuration = build({"type": "all_at_once", "bake_minutes": 1}, ARNS, ROLE)
    assert (configuration["strategy"], configuration["bakeTimeInMinutes"]) == ("BLUE_GREEN", 1)
    with pytest.raises(AnsibleFilterError, match=r"unknown key.*percentage"):
        build({"type": "linear", "percentage": 10, "interval_minutes": 5}, ARNS, ROLE)

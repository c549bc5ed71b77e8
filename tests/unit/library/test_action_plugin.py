"""The bluegreen_deployment action plugin: steps through report_every returns, printing each change, and reads each
controller's seconds per lifecycle event or stage at the end."""

from __future__ import annotations

import importlib.util
import json
import threading
from unittest import mock

from tests.conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "bluegreen_deployment_action", REPO_ROOT / "action_plugins" / "bluegreen_deployment.py"
)
action = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(action)

CODEDEPLOY = {"controller": "codedeploy", "names": {"codedeploy_application": "orders", "deployment_group": "orders"}}
ECS = {"controller": "ecs", "names": {"cluster": "orders-prod", "ecs_service": "orders-prod"}}
SERVICE_DEPLOYMENT = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/orders-prod/orders-prod/D7"


def _plugin(args: dict) -> action.ActionModule:
    task = mock.MagicMock(args=args, action="bluegreen_deployment", async_val=0, check_mode=False, diff=False)
    task.get_validated_value.return_value = None
    context = mock.MagicMock(check_mode=False)
    return action.ActionModule(task, mock.MagicMock(), context, loader=None, templar=None, shared_loader_obj=None)


def _step(
    finished: bool,
    messages: list[str],
    *,
    status: str = "InProgress",
    changed: bool = False,
    controller: str = "codedeploy",
    deployment_id: str = "d-ABC",
    second: int = 5,
    **extra,
) -> dict:
    return {
        "changed": changed,
        "controller": controller,
        "deployment_id": deployment_id,
        "status": status,
        "finished": finished,
        "deployment": {"status": status, "traffic": {"original": 90.0, "replacement": 10.0}},
        "progress": [
            {"time": f"2026-11-27T10:00:{second + index:02d}+00:00", "message": m} for index, m in enumerate(messages)
        ],
        **extra,
    }


def _run(args: dict, steps: list[dict]) -> tuple[dict, list[dict], list[str]]:
    """The plugin's result, the module arguments of each step, and what it printed."""
    calls: list[dict] = []

    def execute(module_name, module_args, task_vars):
        assert module_name == "bluegreen_deployment"
        calls.append(dict(module_args))
        return steps[len(calls) - 1]

    plugin = _plugin(args)
    printed: list[str] = []
    with (
        mock.patch.object(plugin, "_execute_module", side_effect=execute),
        mock.patch.object(action.display, "display", side_effect=printed.append),
        mock.patch.object(action.ActionBase, "run", return_value={}),
    ):
        result = plugin.run(task_vars={})
    return result, calls, printed


def test_steps_until_finished_printing_each_change_and_following_by_id() -> None:
    steps = [
        _step(False, ["deployment InProgress (was Created)"], changed=True),
        _step(False, []),
        _step(False, ["AfterAllowTestTraffic Succeeded in 12s"]),
        _step(True, ["deployment Succeeded (was InProgress)"], status="Succeeded"),
    ]
    args = {**CODEDEPLOY, "task_definition": "td", "report_every": 60, "wait_timeout": 3600}
    result, calls, printed = _run(args, steps)

    assert [call.get("deployment_id") for call in calls] == [None, "d-ABC", "d-ABC", "d-ABC"]
    assert calls[1]["progress_since"] == steps[0]["deployment"]  # the next step reports what changed since
    assert calls[1]["follow"] is True  # later steps only wait, keeping the task's state and its meaning
    assert "state" not in calls[1]
    assert result["status"] == "Succeeded"
    assert result["changed"] is True  # the first step created it
    assert [e["message"] for e in result["progress"]] == [
        "deployment InProgress (was Created)",
        "AfterAllowTestTraffic Succeeded in 12s",
        "deployment Succeeded (was InProgress)",
    ]
    assert printed[0] == "  d-ABC 10:00:05 deployment InProgress (was Created)"
    assert printed[1].startswith("  d-ABC still InProgress after ")  # a quiet step still says where it is
    assert printed[1].endswith("(replacement at 10%)")
    assert printed[-1] == "  d-ABC 10:00:05 deployment Succeeded (was InProgress)"


def test_without_report_every_it_is_one_module_call() -> None:
    result, calls, _printed = _run({**CODEDEPLOY, "task_definition": "td"}, [_step(True, [], status="Succeeded")])
    assert len(calls) == 1
    assert result["status"] == "Succeeded"


def test_a_failed_step_ends_the_loop_with_its_failure() -> None:
    steps = [
        _step(False, ["deployment InProgress (was Created)"], changed=True),
        {**_step(True, ["deployment Failed (was InProgress)"], status="Failed"), "failed": True, "msg": "it failed"},
    ]
    result, calls, _printed = _run({**CODEDEPLOY, "task_definition": "td", "report_every": 60}, steps)
    assert len(calls) == 2
    assert (result["failed"], result["msg"], result["changed"]) == (True, "it failed", True)


def test_codedeploy_lifecycle_seconds_are_the_deployment_s_own() -> None:
    """CodeDeploy times each lifecycle event itself: the deployment's are kept, whatever the timeline says."""
    done = _step(True, ["deployment Succeeded (was InProgress)"], status="Succeeded")
    done["deployment"]["lifecycle_seconds"] = {"BeforeInstall": 3.0, "Install": 17.0}
    result, _calls, _printed = _run({**CODEDEPLOY, "task_definition": "td"}, [done])
    assert result["deployment"]["lifecycle_seconds"] == {"BeforeInstall": 3.0, "Install": 17.0}

    done = _step(True, [], status="Succeeded")  # none known: an empty mapping, never None
    result, _calls, _printed = _run({**CODEDEPLOY, "task_definition": "td"}, [done])
    assert result["deployment"]["lifecycle_seconds"] == {}


def test_ecs_lifecycle_seconds_come_from_the_whole_timeline_of_every_step() -> None:
    """ECS records no time per stage: the stage lines of all the steps say it, a stage spanning two steps included."""
    ecs = {"controller": "ecs", "deployment_id": SERVICE_DEPLOYMENT}
    steps = [
        _step(False, ["deployment IN_PROGRESS (was PENDING)", "stage SCALE_UP"], changed=True, second=0, **ecs),
        _step(False, ["stage POST_SCALE_UP"], second=4, **ecs),
        _step(False, ["hook orders-prod-validate-deployment SUCCEEDED"], second=9, **ecs),
        _step(
            True, ["stage CLEAN_UP", "deployment SUCCESSFUL (was IN_PROGRESS)"], status="SUCCESSFUL", second=20, **ecs
        ),
    ]
    steps[-1]["deployment"]["lifecycle_seconds"] = None  # as the ECS controller's view has it
    result, calls, printed = _run({**ECS, "task_definition": "td", "report_every": 30}, steps)
    assert [call.get("deployment_id") for call in calls] == [None] + [SERVICE_DEPLOYMENT] * 3
    assert result["deployment"]["lifecycle_seconds"] == {"SCALE_UP": 3.0, "POST_SCALE_UP": 16.0, "CLEAN_UP": 1.0}
    # The job log names a service deployment by the last part of its ARN.
    assert printed[0] == "  D7 10:00:00 deployment IN_PROGRESS (was PENDING)"


def test_a_rollback_s_later_steps_keep_its_mode() -> None:
    """A rollback that redeployed must be followed as a deployment, one that stopped as a stop: the first step says
    which (`resume`), every later step is told."""
    steps = [
        _step(
            False,
            ["deployment InProgress (was Created)"],
            changed=True,
            rollback_mode="redeployed",
            resume={"rollback_mode": "redeployed"},
        ),
        _step(False, ["BeforeInstall Succeeded in 2s"], rollback_mode="redeployed"),
        _step(True, ["deployment Succeeded (was InProgress)"], status="Succeeded", rollback_mode="redeployed"),
    ]
    result, calls, _printed = _run({**CODEDEPLOY, "state": "rolled_back", "report_every": 60}, steps)
    assert "rollback_mode" not in calls[0]
    assert [call.get("rollback_mode") for call in calls[1:]] == ["redeployed", "redeployed"]
    assert all(call["state"] == "rolled_back" and call["follow"] is True for call in calls[1:])
    assert (result["status"], result["rollback_mode"]) == ("Succeeded", "redeployed")


def test_on_a_local_connection_one_module_run_follows_the_deployment_and_each_line_prints_as_it_is_written() -> None:
    """The module writes each change to the progress file as it sees it; the plugin prints it while the module still
    runs (not at its end), and runs the module once."""

    written_then_printed = threading.Event()
    printed: list[str] = []

    def execute(module_name, module_args, task_vars):
        path = module_args["progress_file"]
        assert "follow" not in module_args
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"deployment_id": "d-ABC", "time": "2026-11-27T10:00:05+00:00",
                                     "message": "AfterInstall Succeeded in 3s"}) + "\n")  # fmt: skip
        # The line is printed while the module still runs.
        assert written_then_printed.wait(5), "the line was not printed while the module ran"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"deployment_id": "d-ABC", "still": "InProgress", "replacement": 40.0}) + "\n")
        return _step(True, ["AfterInstall Succeeded in 3s"], status="Succeeded")

    def shown(line: str) -> None:
        printed.append(line)
        written_then_printed.set()

    plugin = _plugin({**CODEDEPLOY, "task_definition": "td", "report_every": 60})
    plugin._connection.transport = "local"
    with (
        mock.patch.object(plugin, "_execute_module", side_effect=execute) as module,
        mock.patch.object(action.display, "display", side_effect=shown),
        mock.patch.object(action.ActionBase, "run", return_value={}),
    ):
        result = plugin.run(task_vars={})
    assert module.call_count == 1
    assert result["status"] == "Succeeded"
    assert printed[0] == "  d-ABC 10:00:05 AfterInstall Succeeded in 3s"
    assert printed[1].startswith("  d-ABC still InProgress after ")
    assert printed[1].endswith("(replacement at 40%)")
    assert len(printed) == 2, "the result's own lines are not printed again"

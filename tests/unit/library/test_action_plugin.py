"""The codedeploy_deployment action plugin: steps through report_every returns, printing each change."""

from __future__ import annotations

import importlib.util
from unittest import mock

from tests.conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "codedeploy_deployment_action", REPO_ROOT / "action_plugins" / "codedeploy_deployment.py"
)
action = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(action)


def _plugin(args: dict) -> action.ActionModule:
    task = mock.MagicMock(args=args, action="codedeploy_deployment", async_val=0, check_mode=False, diff=False)
    task.get_validated_value.return_value = None
    context = mock.MagicMock(check_mode=False)
    return action.ActionModule(task, mock.MagicMock(), context, loader=None, templar=None, shared_loader_obj=None)


def _step(finished: bool, messages: list[str], status: str = "InProgress", changed: bool = False) -> dict:
    return {
        "changed": changed,
        "deployment_id": "d-ABC",
        "status": status,
        "finished": finished,
        "deployment": {"status": status, "traffic": {"original": 90.0, "replacement": 10.0}},
        "progress": [{"time": "2026-11-27T10:00:05+00:00", "message": m} for m in messages],
    }


def test_steps_until_finished_printing_each_change_and_following_by_id() -> None:
    steps = [
        _step(False, ["deployment InProgress (was Created)"], changed=True),
        _step(False, []),
        _step(False, ["AfterAllowTestTraffic Succeeded in 12s"]),
        _step(True, ["deployment Succeeded (was InProgress)"], status="Succeeded"),
    ]
    calls: list[dict] = []

    def execute(module_name, module_args, task_vars):
        calls.append(dict(module_args))
        return steps[len(calls) - 1]

    plugin = _plugin(
        {
            "application_name": "orders",
            "deployment_group_name": "orders-prod",
            "appspec_content": "{}",
            "report_every": 60,
            "wait_timeout": 3600,
        }
    )
    printed: list[str] = []
    with (
        mock.patch.object(plugin, "_execute_module", side_effect=execute),
        mock.patch.object(action.display, "display", side_effect=printed.append),
        mock.patch.object(action.ActionBase, "run", return_value={}),
    ):
        result = plugin.run(task_vars={})

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
    plugin = _plugin({"application_name": "orders", "deployment_group_name": "orders-prod", "appspec_content": "{}"})
    with (
        mock.patch.object(plugin, "_execute_module", return_value=_step(True, [], status="Succeeded")) as execute,
        mock.patch.object(action.ActionBase, "run", return_value={}),
    ):
        result = plugin.run(task_vars={})
    assert execute.call_count == 1
    assert result["status"] == "Succeeded"

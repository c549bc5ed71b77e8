"""Every path reports a status to CodeDeploy: success, failure, unexpected exception, budget overrun."""

from __future__ import annotations

import logging
import time

import pytest

from hooks import codedeploy_event, common
from tests.unit.hooks.conftest import LambdaContext, event, reported


def test_success_reports_succeeded(aws, environment) -> None:
    result = codedeploy_event.run_hook("t", event(environment), LambdaContext(), lambda hook: "all good")
    assert result == {"status": "Succeeded", "reason": None, "summary": "all good"}
    assert aws.requests("PutLifecycleEventHookExecutionStatus") == [
        {"deploymentId": environment.deployment_id, "lifecycleEventHookExecutionId": "exec-0001", "status": "Succeeded"}
    ]


def test_failed_check_reports_failed_with_the_reason_logged(aws, environment, caplog) -> None:
    def check(hook):
        raise common.CheckFailed("the replacement task set has 0 of 2 tasks")

    with caplog.at_level(logging.INFO, logger=common.SERVICE):
        result = codedeploy_event.run_hook("t", event(environment), LambdaContext(), check)
    assert result["status"] == "Failed"
    assert reported(aws) == [(environment.deployment_id, "Failed")]
    assert any('"reason": "the replacement task set has 0 of 2 tasks"' in r.message for r in caplog.records)


def test_unexpected_exception_still_reports_failed(aws, environment) -> None:
    def check(hook):
        return {}["missing"]

    result = codedeploy_event.run_hook("t", event(environment), LambdaContext(), check)
    assert result["status"] == "Failed"
    assert result["reason"] == "unexpected KeyError: 'missing'"
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_budget_overrun_reports_failed_before_the_lambda_timeout(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_TIME_BUDGET_SECONDS", "0.5")

    def check(hook):
        while True:
            hook.budget.sleep(0.1, "waiting for something that never comes")

    started = time.monotonic()
    result = codedeploy_event.run_hook("t", event(environment), LambdaContext(remaining_ms=60_000), check)
    assert result["status"] == "Failed"
    assert result["reason"] == "time budget of 0.5s used up while waiting for something that never comes"
    assert time.monotonic() - started < 5
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_budget_keeps_a_margin_inside_the_lambda_timeout() -> None:
    budget = common.Budget.for_invocation(LambdaContext(remaining_ms=30_000))
    assert budget.seconds == pytest.approx(30 - common.REPORT_MARGIN_SECONDS)


def test_camel_case_event_is_refused_loudly(aws) -> None:
    with pytest.raises(ValueError, match="expected a CodeDeploy lifecycle hook event \\(DeploymentId"):
        codedeploy_event.run_hook(
            "t", {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "x"}, LambdaContext(), lambda hook: "x"
        )
    assert reported(aws) == []


def test_bad_configuration_is_reported_as_failed(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_TIME_BUDGET_SECONDS", "soon")
    result = codedeploy_event.run_hook("t", event(environment), LambdaContext(), lambda hook: "x")
    assert result["reason"] == "environment variable HOOK_TIME_BUDGET_SECONDS='soon' is not a number"
    assert reported(aws) == [(environment.deployment_id, "Failed")]

"""The CodeDeploy adapter: CodeDeploy's lifecycle event in front of the checks.

The event (CodeDeploy user guide, "AppSpec 'hooks' section for an Amazon ECS deployment"), PascalCase:

    {"DeploymentId": "d-...", "LifecycleEventHookExecutionId": "..."}

CodeDeploy waits for one answer per hook and ignores the function's return value: the check runs to the end in
this invocation (a Pending check is called again after its delay, within the budget), and the status goes to
CodeDeploy with PutLifecycleEventHookExecutionStatus in a `finally`, whatever happens, so a deployment never waits
an hour for a silent hook. An event without those keys makes the invocation fail loudly: there is nothing to
report to.

An adapter: imports hooks.common and hooks.facts (the deployment group's and the replacement task set's facts),
and hooks/handler.py picks it for an event of this shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hooks import facts as deployment_facts
from hooks.common import Budget, CheckFailed, Hook, Pending, client, log, logger


def report(deployment_id: str, execution_id: str, status: str) -> None:
    client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
    )


def run_to_the_end(hook: Hook, check: Callable[[Hook], str]) -> str:
    """CodeDeploy waits for one answer: call a Pending check again after its delay until it is done or the
    budget is spent (then it fails with the reason it was still pending)."""
    while True:
        try:
            return check(hook)
        except Pending as pending:
            hook.state = dict(pending.state)
            log(logging.INFO, "pending", hook=hook.name, deployment_id=hook.deployment_id, reason=str(pending))
            if hook.budget.remaining() <= 0:
                raise CheckFailed(
                    f"{pending} (still so when the time budget of {hook.budget.seconds:g}s ran out)"
                ) from None
            # The check is asked once more when the budget runs out, so it can end what it started (a task).
            time.sleep(max(0.0, min(pending.retry_after, hook.budget.remaining())))


def run_hook(name: str, event: dict, context, check: Callable[[Hook], str]) -> dict:
    """Run `check` within the budget and report Succeeded or Failed to CodeDeploy, whatever happens."""
    try:
        deployment_id = event["DeploymentId"]
        execution_id = event["LifecycleEventHookExecutionId"]
    except (KeyError, TypeError):
        keys = sorted(event) if isinstance(event, dict) else type(event).__name__
        # Nothing to report to: fail the invocation loudly instead.
        log(logging.ERROR, "not a lifecycle hook event", hook=name, keys=keys)
        raise ValueError(
            f"{name}: expected a CodeDeploy lifecycle hook event (DeploymentId, LifecycleEventHookExecutionId) or an "
            f"ECS one (executionId, lifecycleStage, resourceArn, executionDetails), got keys {keys}"
        ) from None

    status, reason, summary = "Failed", None, None
    budget = None
    try:
        budget = Budget.for_invocation(context)
        log(logging.INFO, "started", hook=name, deployment_id=deployment_id, budget_seconds=round(budget.seconds, 1))
        hook = Hook(
            name,
            deployment_id,
            execution_id,
            budget,
            load_facts=lambda with_task_definition: deployment_facts.load(
                deployment_id, with_task_definition=with_task_definition
            ),
        )
        summary = run_to_the_end(hook, check)
        status = "Succeeded"
    except CheckFailed as exc:
        reason = str(exc)
    except Exception as exc:
        reason = f"unexpected {type(exc).__name__}: {exc}"
        logger.exception("unexpected error in %s", name)
    finally:
        elapsed = round(budget.elapsed(), 2) if budget else None
        level = logging.INFO if status == "Succeeded" else logging.ERROR
        log(level, status, hook=name, deployment_id=deployment_id, reason=reason, summary=summary, seconds=elapsed)
        report(deployment_id, execution_id, status)
    return {"status": status, "reason": reason, "summary": summary}

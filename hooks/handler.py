"""The entry every hook function's handler calls: `handle(name, event, context, check)`.

`check(hook)` raises CheckFailed with the reason, raises Pending when it is not done yet (a migration task still
running), or returns a one-line summary. One check serves both deployment controllers; `handle` picks the adapter
by the event's shape:

- CodeDeploy (`{"DeploymentId", "LifecycleEventHookExecutionId"}`, hooks/codedeploy_event.py): the check runs to
  the end in this invocation (a Pending check is called again after its delay, within the budget), and the
  lifecycle status goes to CodeDeploy with PutLifecycleEventHookExecutionStatus in a `finally`, whatever happens.
- ECS (`{"executionId", "lifecycleStage", "resourceArn", "executionDetails"}`, hooks/ecs_event.py): the status is
  the function's return value, `{"hookStatus": SUCCEEDED | FAILED | IN_PROGRESS}`; a Pending check returns
  IN_PROGRESS with a `callBackDelay`, and ECS invokes the function again: a long check is polled, not held.

Layers, each importing only those below it (tests/unit/hooks/test_layering.py): hooks.common (clients, environment,
budget, logging, CheckFailed/Pending, Hook) <- hooks.facts (the deployment's facts) <- the adapters
(hooks.codedeploy_event, hooks.ecs_event) <- this module <- the checks (validate_*.py, run_migrations.py).
"""

from __future__ import annotations

from collections.abc import Callable

from hooks.codedeploy_event import run_hook
from hooks.common import Hook
from hooks.ecs_event import run_ecs_hook


def handle(name: str, event: dict, context, check: Callable[[Hook], str]) -> dict:
    """A hook function's handler: the adapter of the controller that invoked it (see the module docstring)."""
    if isinstance(event, dict) and "lifecycleStage" in event and "executionId" in event:
        return run_ecs_hook(name, event, context, check)
    return run_hook(name, event, context, check)

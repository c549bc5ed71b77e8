"""What every hook shares: the event, a time budget, AWS clients, and reporting on every path.

A hook is `handle(name, event, context, check)`: `check(hook)` raises CheckFailed with the reason, raises
Pending when it is not done yet (a migration task still running), or returns a one-line summary. One check
serves both deployment controllers; `handle` picks the adapter by the event's shape:

- CodeDeploy (`{"DeploymentId", "LifecycleEventHookExecutionId"}`, `run_hook` here): the check runs to the end in
  this invocation (a Pending check is called again after its delay, within the budget), and the lifecycle status
  goes to CodeDeploy with PutLifecycleEventHookExecutionStatus in a `finally`, whatever happens, so a deployment
  never waits an hour for a silent hook.
- ECS (`{"executionId", "lifecycleStage", "resourceArn", "executionDetails"}`, hooks/ecs_event.py): the status is
  the function's return value, `{"hookStatus": SUCCEEDED | FAILED | IN_PROGRESS}`; a Pending check returns
  IN_PROGRESS with a `callBackDelay`, and ECS invokes the function again: a long check is polled, not held.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import overload

import boto3
import botocore
from botocore.config import Config

SERVICE = "bluegreen-hooks"
logger = logging.getLogger(SERVICE)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

# Short network timeouts and few retries: a slow AWS call must not eat the hook's time budget.
_BOTO_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 4})
_clients: dict[str, object] = {}

# Keep this much of the Lambda's own timeout for reporting the status to CodeDeploy.
REPORT_MARGIN_SECONDS = 10.0


class CheckFailed(Exception):
    """A check found something wrong; the message says what, for the operator reading the log."""


class BudgetExceeded(CheckFailed):
    """The check did not finish within its time budget."""


class Pending(Exception):
    """The check is not done and has not failed: ask again in `retry_after` seconds. `state` (JSON) comes back
    to the check on the next call (ECS: through the returned hookDetails; CodeDeploy: in this invocation)."""

    def __init__(self, reason: str, retry_after: float = 5.0, state: dict | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.state = state or {}


def client(service: str):
    """One boto3 client per service per container (Lambda reuses containers between invocations)."""
    if service not in _clients:
        _clients[service] = boto3.client(service, config=_BOTO_CONFIG)
    return _clients[service]


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CheckFailed(f"environment variable {name}={raw!r} is not a number") from None
    if value < 0:
        raise CheckFailed(f"environment variable {name}={raw!r} must not be negative")
    return value


def env_json(name: str, default):
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CheckFailed(f"environment variable {name} is not valid JSON: {exc}") from None


@dataclass
class Budget:
    """A deadline on the monotonic clock, well inside the Lambda timeout."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def for_invocation(cls, context) -> Budget:
        configured = env_float("HOOK_TIME_BUDGET_SECONDS", 600.0)
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is not None:
            configured = min(configured, remaining_ms() / 1000.0 - REPORT_MARGIN_SECONDS)
        return cls(max(configured, 0.1))

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def ensure(self, doing: str) -> float:
        """The seconds left; raises BudgetExceeded (naming what was under way) when none are."""
        left = self.remaining()
        if left <= 0:
            raise BudgetExceeded(f"time budget of {self.seconds:g}s used up while {doing}")
        return left

    def sleep(self, seconds: float, doing: str) -> None:
        time.sleep(max(0.0, min(seconds, self.ensure(doing))))
        self.ensure(doing)


@dataclass
class Hook:
    """What a check receives: which deployment (CodeDeploy's id, or the ECS service deployment's), its facts
    through the controller's own APIs (`facts()`, hooks/facts.py), and the state a Pending check left."""

    name: str
    deployment_id: str
    execution_id: str
    budget: Budget
    controller: str = "codedeploy"
    load_facts: Callable | None = None
    state: dict = field(default_factory=dict)
    # ECS: the lifecycle stage this invocation runs at, and the service deployment's ARN.
    stage: str | None = None
    deployment_arn: str | None = None

    def facts(self, with_task_definition: bool = True):
        if self.load_facts is None:
            from hooks import facts as deployment_facts  # noqa: PLC0415 - facts imports this module

            return deployment_facts.load(self.deployment_id, with_task_definition=with_task_definition)
        return self.load_facts(with_task_definition)


def log(level: int, message: str, **fields) -> None:
    """One JSON object per line: CloudWatch Logs Insights can filter on the fields."""
    logger.log(level, json.dumps({"service": SERVICE, "message": message, **fields}, default=str))


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


def handle(name: str, event: dict, context, check: Callable[[Hook], str]) -> dict:
    """A hook function's handler: the adapter of the controller that invoked it (see the module docstring)."""
    if isinstance(event, dict) and "lifecycleStage" in event and "executionId" in event:
        from hooks import ecs_event  # noqa: PLC0415 - only ECS events need it

        return ecs_event.run_ecs_hook(name, event, context, check)
    return run_hook(name, event, context, check)


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
        summary = run_to_the_end(Hook(name, deployment_id, execution_id, budget), check)
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


# Once per cold start: which SDK the container runs (the zip's, packaged by hooks/build.py, is in /var/task).
log(logging.INFO, "cold start", boto3=boto3.__version__, botocore=botocore.__version__, sdk=boto3.__file__)

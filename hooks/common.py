"""The plumbing every hook shares, whichever controller invoked it: AWS clients, environment settings, the time
budget, logging, the outcomes a check raises (CheckFailed, Pending) and the Hook a check receives.

The lowest layer of hooks/: it imports nothing from hooks. Above it, hooks/facts.py (what the deployment is),
then the two event adapters (hooks/codedeploy_event.py, hooks/ecs_event.py), then hooks/handler.py (`handle`,
which picks the adapter by the event's shape), then the checks (validate_*.py, run_migrations.py).
tests/unit/hooks/test_layering.py holds every module to that order.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

import boto3
import botocore
from botocore.config import Config

SERVICE = "bluegreen-hooks"
logger = logging.getLogger(SERVICE)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

# Short network timeouts and few retries: a slow AWS call must not eat the hook's time budget.
_BOTO_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 4})
_clients: dict[str, object] = {}

# Keep this much of the Lambda's own timeout for reporting the status (to CodeDeploy, or returning it to ECS).
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
    through the controller's own APIs (`facts()`: the adapter that made the Hook says how, hooks/facts.py), and
    the state a Pending check left."""

    name: str
    deployment_id: str
    execution_id: str
    budget: Budget
    # (with_task_definition) -> hooks.facts.DeploymentFacts, from the controller that invoked the hook.
    load_facts: Callable[[bool], Any]
    controller: str = "codedeploy"
    state: dict = field(default_factory=dict)
    # ECS: the lifecycle stage this invocation runs at, and the service deployment's ARN.
    stage: str | None = None
    deployment_arn: str | None = None

    def facts(self, with_task_definition: bool = True) -> Any:
        return self.load_facts(with_task_definition)


def log(level: int, message: str, **fields) -> None:
    """One JSON object per line: CloudWatch Logs Insights can filter on the fields."""
    logger.log(level, json.dumps({"service": SERVICE, "message": message, **fields}, default=str))


# Once per cold start: which SDK the container runs (the zip's, packaged by hooks/build.py, is in /var/task).
log(logging.INFO, "cold start", boto3=boto3.__version__, botocore=botocore.__version__, sdk=boto3.__file__)

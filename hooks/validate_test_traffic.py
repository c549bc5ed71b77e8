"""AfterAllowTestTraffic: synthetic traffic through the test listener, which now points at green.

/health and /ready must answer 200, /health must report the version being deployed (proof that the
test listener really reaches the replacement task set), and every smoke request must get its expected
status. Each probe is retried until it passes or the retry budget is used up; latencies are logged.

Environment:
  TEST_LISTENER_URL        base URL of the test listener, e.g. http://internal-alb:8443 (required)
  SMOKE_REQUESTS           JSON list of {"method", "path", "expect_status", "body"?} (default [])
  HEALTH_PATH, READY_PATH  default /health, /ready
  RETRY_BUDGET_SECONDS     the least each probe may keep retrying; the budget is at least what the target
                           groups' health checks need before the test listener routes to new targets
                           (hooks/budgets.py: healthy threshold x interval + timeout + margin)
  RETRY_INTERVAL_SECONDS   pause between tries (default 2)
  REQUEST_TIMEOUT_SECONDS  per request (default 5)
  HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL
"""

from __future__ import annotations

import logging
import os

from hooks import budgets
from hooks import facts as deployment_facts
from hooks.common import (
    Budget,
    BudgetExceeded,
    CheckFailed,
    Hook,
    client,
    env_float,
    env_json,
    env_str,
    log,
)
from hooks.handler import handle
from hooks.http_probe import ProbeResult, percentile, request


def smoke_requests() -> list[dict]:
    configured = env_json("SMOKE_REQUESTS", [])
    if not isinstance(configured, list):
        raise CheckFailed("SMOKE_REQUESTS must be a JSON list of {method, path, expect_status}")
    checked = []
    for index, item in enumerate(configured):
        if not isinstance(item, dict) or not str(item.get("path", "")).startswith("/"):
            raise CheckFailed(f"SMOKE_REQUESTS[{index}] needs a path starting with / (got {item!r})")
        checked.append(
            {
                "method": str(item.get("method", "GET")).upper(),
                "path": item["path"],
                "expect_status": int(item.get("expect_status", 200)),
                "body": item.get("body"),
            }
        )
    return checked


def probe_until(
    description: str, attempt, accept, *, budget: Budget, interval: float, latencies: list[float]
) -> ProbeResult:
    """Call `attempt()` until `accept(result)` returns None (ok) or the budget ends; the last reason fails it."""
    while True:
        result = attempt()
        latencies.append(result.seconds)
        problem = accept(result)
        if problem is None:
            return result
        log(logging.INFO, "probe not passing yet", probe=description, problem=problem)
        try:
            budget.sleep(interval, description)
        except BudgetExceeded:
            raise CheckFailed(f"{description}: {problem} (still so after {budget.seconds:.1f}s of retries)") from None


def health_check_budget(target_group_names: list[str]) -> float:
    """The retry budget the target groups' health checks call for (the slowest of the pair)."""
    if not target_group_names:
        return 0.0
    groups = client("elbv2").describe_target_groups(Names=target_group_names)["TargetGroups"]
    return max(
        budgets.retry_budget(
            group.get("HealthCheckIntervalSeconds", 30),
            group.get("HealthyThresholdCount", 5),
            group.get("HealthCheckTimeoutSeconds", 5),
        )
        for group in groups
    )


def check_listener(
    hook: Hook, base_url: str, expected_version: str | None, smoke: list[dict], health_budget: float = 0.0
) -> str:
    timeout = env_float("REQUEST_TIMEOUT_SECONDS", 5.0)
    interval = env_float("RETRY_INTERVAL_SECONDS", 2.0)
    retry_budget = max(env_float("RETRY_BUDGET_SECONDS", 0.0), health_budget)
    health_path, ready_path = env_str("HEALTH_PATH", "/health"), env_str("READY_PATH", "/ready")
    latencies: list[float] = []

    def budget() -> Budget:
        return Budget(min(retry_budget, hook.budget.remaining()))

    def get(path: str):
        return lambda: request("GET", base_url + path, hook.budget, timeout)

    def health_ok(result: ProbeResult) -> str | None:
        if result.status != 200:
            return result.describe()
        served = result.json().get("version")
        if expected_version and served != expected_version:
            return f"serves version {served!r}, not the version being deployed {expected_version!r}"
        return None

    probe_until(
        f"GET {health_path} on the test listener",
        get(health_path),
        health_ok,
        budget=budget(),
        interval=interval,
        latencies=latencies,
    )
    probe_until(
        f"GET {ready_path} on the test listener",
        get(ready_path),
        lambda r: None if r.status == 200 else f"{r.describe()} {r.json().get('reason', '')}".strip(),
        budget=budget(),
        interval=interval,
        latencies=latencies,
    )
    for item in smoke:
        probe_until(
            f"{item['method']} {item['path']} on the test listener",
            lambda item=item: request(item["method"], base_url + item["path"], hook.budget, timeout, body=item["body"]),
            lambda r, item=item: (
                None if r.status == item["expect_status"] else f"{r.describe()}, expected {item['expect_status']}"
            ),
            budget=budget(),
            interval=interval,
            latencies=latencies,
        )
    return (
        f"{len(latencies)} request(s) through the test listener, version {expected_version}: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


def migrations_of_this_stage() -> list[str]:
    """The migration hook of the same stage (ECS): the function named like this one with run-migrations."""
    own = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    suffix = "validate-test-traffic"
    return [own[: -len(suffix)] + "run-migrations"] if own.endswith(suffix) else []


def check(hook: Hook) -> str:
    base_url = env_str("TEST_LISTENER_URL")
    if not base_url:
        raise CheckFailed("TEST_LISTENER_URL is not set: the lambda hooks role sets it to the test listener's URL")
    smoke = smoke_requests()
    if hook.controller == "ecs":
        # A service's first deployment creates the schema at this stage: the smoke requests wait for it (on later
        # deployments the migrations wait for these checks instead: hooks/run_migrations.py).
        deployment = deployment_facts.service_deployment(hook)
        if deployment_facts.first_deployment(deployment):
            interval = env_float("RETRY_INTERVAL_SECONDS", 2.0)
            deployment_facts.wait_for_hooks(
                hook, deployment, migrations_of_this_stage(), interval, "the smoke requests"
            )
    facts = hook.facts()
    health_budget = health_check_budget(facts.target_group_names)
    log(logging.INFO, "retry budget from the target groups' health checks", seconds=health_budget)
    return check_listener(hook, base_url.rstrip("/"), facts.version, smoke, health_budget)


def handler(event, context):
    return handle("validate-test-traffic", event, context, check)

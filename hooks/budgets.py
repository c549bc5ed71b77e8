"""How long the test-traffic check may wait for the replacement's targets, from their target group's own
health check, and the Lambda timeout that allows it. One computation for the hook (at run time, from the
target group it reads) and for the lambda hooks role (the function's timeout, at provision):

    python -m hooks.budgets --interval 30 --healthy-threshold 2 --timeout 5 --hook-budget 600

An ALB starts health-checking a target group's targets only when a listener forwards to it: at
AllowTestTraffic for the replacement. They are "initial" until `healthy threshold` checks in a row pass, one
every `interval`, each taking up to `timeout`; only then does the test listener route to them.
"""

from __future__ import annotations

import argparse
import json

# Beyond the health checks: the first check's scheduling, the probe's own requests, a slow first answer.
MARGIN_SECONDS = 30.0
# Kept for the smoke requests and for reporting the status once the targets answer.
AFTER_HEALTHY_SECONDS = 60.0
LAMBDA_MAX_TIMEOUT_SECONDS = 900  # the long-standing Lambda maximum (some runtimes allow more; not relied on)
REPORT_SECONDS = 30


def target_health_seconds(interval: float, healthy_threshold: int, timeout: float) -> float:
    """Seconds until a newly in-use target can be healthy: threshold checks, one per interval, the last may take
    its whole timeout."""
    return healthy_threshold * interval + timeout


def retry_budget(interval: float, healthy_threshold: int, timeout: float) -> float:
    """How long the test listener's first probe keeps retrying while the targets become healthy."""
    return target_health_seconds(interval, healthy_threshold, timeout) + MARGIN_SECONDS


def function_budget(hook_budget: float, interval: float, healthy_threshold: int, timeout: float) -> dict:
    """The test-traffic hook's time budget and its Lambda timeout: at least the retry budget plus the time the
    remaining checks take, within Lambda's maximum (with REPORT_SECONDS left to report the status)."""
    needed = retry_budget(interval, healthy_threshold, timeout) + AFTER_HEALTHY_SECONDS
    budget = min(max(float(hook_budget), needed), LAMBDA_MAX_TIMEOUT_SECONDS - REPORT_SECONDS)
    return {
        "retry_budget_seconds": retry_budget(interval, healthy_threshold, timeout),
        "hook_budget_seconds": int(budget),
        "function_timeout_seconds": int(budget) + REPORT_SECONDS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, required=True, help="health check interval, seconds")
    parser.add_argument("--healthy-threshold", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True, help="health check timeout, seconds")
    parser.add_argument("--hook-budget", type=float, required=True, help="the hooks' configured budget, seconds")
    args = parser.parse_args(argv)
    print(json.dumps(function_budget(args.hook_budget, args.interval, args.healthy_threshold, args.timeout)))


if __name__ == "__main__":
    main()

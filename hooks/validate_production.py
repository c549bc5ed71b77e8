"""AfterAllowTraffic: production serves the new version, and no alarm of the group is in ALARM.

Probes the production listener until /health reports the deployed version for N checks in a row (so
all traffic has moved and stays there), then reads the CloudWatch alarms (the group's, or ALARM_NAMES).

Environment:
  PRODUCTION_LISTENER_URL  base URL of the production listener, by the load balancer's DNS name (required)
  PRODUCTION_HOSTNAME      the service's public hostname: sent as Host and, over HTTPS, as SNI, and the name
                           the certificate must cover (an ACM certificate never covers *.elb.amazonaws.com)
  CONSECUTIVE_SUCCESSES    checks in a row that must see the new version (default 5)
  PROBE_INTERVAL_SECONDS   between checks (default 1)
  REQUEST_TIMEOUT_SECONDS  per request (default 5)
  ALARM_NAMES              JSON list; default: the deployment group's alarms
  HEALTH_PATH              default /health
  HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL
"""

from __future__ import annotations

from hooks.common import BudgetExceeded, CheckFailed, Hook, client, env_float, env_json, env_str
from hooks.handler import handle
from hooks.http_probe import percentile, request


def check_alarms(names: list[str]) -> str:
    if not names:
        return "no alarms configured"
    paginator = client("cloudwatch").get_paginator("describe_alarms")
    alarms = paginator.paginate(AlarmNames=names).build_full_result().get("MetricAlarms", [])
    firing = [f"{a['AlarmName']} ({a.get('StateReason', 'in ALARM')})" for a in alarms if a["StateValue"] == "ALARM"]
    if firing:
        raise CheckFailed(f"alarm(s) in ALARM: {'; '.join(firing)}")
    missing = sorted(set(names) - {a["AlarmName"] for a in alarms})
    if missing:
        raise CheckFailed(f"alarm(s) {missing} do not exist: the deployment group watches alarms nobody raises")
    return f"{len(alarms)} alarm(s) OK"


def check(hook: Hook) -> str:
    base_url = env_str("PRODUCTION_LISTENER_URL")
    if not base_url:
        raise CheckFailed("PRODUCTION_LISTENER_URL is not set: the lambda hooks role sets it to the production URL")
    wanted = int(env_float("CONSECUTIVE_SUCCESSES", 5))
    interval = env_float("PROBE_INTERVAL_SECONDS", 1.0)
    timeout = env_float("REQUEST_TIMEOUT_SECONDS", 5.0)
    url = base_url.rstrip("/") + env_str("HEALTH_PATH", "/health")
    hostname = env_str("PRODUCTION_HOSTNAME")
    if url.startswith("https://") and not hostname:
        raise CheckFailed(
            "PRODUCTION_HOSTNAME is not set for an HTTPS production listener: the certificate covers the service's "
            "hostname, never the load balancer's DNS name (set load_balancer_public_hostname in the inventory)"
        )
    facts = hook.facts()
    alarm_names = env_json("ALARM_NAMES", None)
    alarm_names = facts.alarm_names if alarm_names is None else list(alarm_names)

    streak, last_problem, latencies = 0, None, []
    while streak < wanted:
        result = request("GET", url, hook.budget, timeout, server_name=hostname)
        latencies.append(result.seconds)
        served = result.json().get("version")
        if result.status == 200 and served == facts.version:
            streak += 1
        else:
            streak = 0
            last_problem = result.describe() if result.status != 200 else f"served version {served!r}"
        if streak < wanted:
            try:
                hook.budget.sleep(interval, "probing the production listener")
            except BudgetExceeded:
                raise CheckFailed(
                    f"production did not serve version {facts.version!r} for {wanted} checks in a row "
                    f"(best streak ended with: {last_problem})"
                ) from None
    alarms = check_alarms(alarm_names)
    return (
        f"production served {facts.version} for {wanted} checks in a row "
        f"(p50 {percentile(latencies, 0.5) * 1000:.0f} ms); {alarms}"
    )


def handler(event, context):
    return handle("validate-production", event, context, check)

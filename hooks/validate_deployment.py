"""AfterInstall: the replacement task set is running and its targets are healthy.

Waits (within the budget) until the replacement task set (the deployment's Green task set, which must run the
task definition the AppSpec names) is at steady state with running = desired, then until each of its targets
in its target group is healthy. At AfterInstall the replacement's target group usually has no listener yet
(AllowTestTraffic comes next), and an ALB does not health-check such a group: its targets are "unused"
(Target.NotInUse). Then all targets registered is what can be checked here; their health is proven through the
test listener by AfterAllowTestTraffic.

Environment: STEADY_STATE_TIMEOUT_SECONDS (default 300), POLL_INTERVAL_SECONDS (default 5),
HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL.
"""

from __future__ import annotations

import logging

from hooks import facts as deployment_facts
from hooks.common import Budget, BudgetExceeded, CheckFailed, Hook, client, env_float, log, run_hook


def wait_for_steady_state(facts, budget: Budget, interval: float) -> dict:
    task_set_id = deployment_facts.replacement_task_set_id(facts)
    while True:
        task_set = deployment_facts.confirm_replacement(facts, task_set_id)
        desired, running = task_set.get("computedDesiredCount", 0), task_set.get("runningCount", 0)
        if task_set.get("stabilityStatus") == "STEADY_STATE" and running >= desired > 0:
            return task_set
        log(
            logging.INFO,
            "waiting for the replacement task set",
            running=running,
            desired=desired,
            stability=task_set.get("stabilityStatus"),
        )
        try:
            budget.sleep(interval, "waiting for the replacement task set")
        except BudgetExceeded:
            raise CheckFailed(
                f"replacement task set {task_set.get('id')} not at steady state in {budget.seconds:g}s: "
                f"{running} of {desired} tasks running ({task_set.get('stabilityStatus')})"
            ) from None


def wait_for_healthy_targets(task_set: dict, budget: Budget, interval: float) -> tuple[str, int, bool]:
    elbv2 = client("elbv2")
    balancers = task_set.get("loadBalancers") or []
    if not balancers or not balancers[0].get("targetGroupArn"):
        raise CheckFailed(f"replacement task set {task_set.get('id')} is not attached to a target group")
    target_group_arn = balancers[0]["targetGroupArn"]
    wanted = task_set.get("computedDesiredCount", 1)
    while True:
        descriptions = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
        states = [d["TargetHealth"]["State"] for d in descriptions]
        healthy = states.count("healthy")
        if healthy >= wanted and healthy == len(states):
            return target_group_arn, healthy, True
        not_in_use = [d for d in descriptions if d["TargetHealth"].get("Reason") == "Target.NotInUse"]
        if len(not_in_use) >= wanted and len(not_in_use) == len(states):
            return target_group_arn, len(not_in_use), False
        try:
            budget.sleep(interval, "waiting for healthy targets")
        except BudgetExceeded:
            reasons = sorted(
                {
                    d["TargetHealth"].get("Reason", d["TargetHealth"]["State"])
                    for d in descriptions
                    if d["TargetHealth"]["State"] != "healthy"
                }
            )
            raise CheckFailed(
                f"{healthy} of {wanted} targets healthy in {target_group_arn.rsplit('/', 2)[-2]} after "
                f"{budget.seconds:g}s (others: {', '.join(reasons) or 'not registered'})"
            ) from None


def check(hook: Hook) -> str:
    facts = deployment_facts.load(hook.deployment_id, with_task_definition=False)
    interval = env_float("POLL_INTERVAL_SECONDS", 5.0)
    timeout = env_float("STEADY_STATE_TIMEOUT_SECONDS", 300.0)
    budget = Budget(min(timeout, hook.budget.remaining()))
    task_set = wait_for_steady_state(facts, budget, interval)
    target_group_arn, count, checked = wait_for_healthy_targets(task_set, budget, interval)
    group = target_group_arn.rsplit("/", 2)[-2]
    targets = (
        f"{count} healthy target(s) in {group}"
        if checked
        else f"{count} target(s) registered in {group} (no listener yet: health is checked through the test listener)"
    )
    return f"task set {task_set.get('id')} steady with {task_set.get('runningCount')} task(s); {targets}"


def handler(event, context):
    return run_hook("validate-deployment", event, context, check)

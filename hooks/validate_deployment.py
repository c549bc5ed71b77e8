"""AfterInstall (CodeDeploy) / POST_SCALE_UP (ECS): the new tasks are running and their targets are healthy.

Checks the task definition the replacement task set (the deployment's Green task set, BatchGetDeploymentTargets)
runs: the container its target group routes to maps the port, and its image reference is well formed and immutable
(as BeforeInstall checks the AppSpec's, the only check when BeforeInstall could not read the AppSpec). Then waits
(within the budget) until that task set is at steady state with running = desired, then until each of its targets
in its target group is healthy. At AfterInstall the replacement's target group usually has no listener yet
(AllowTestTraffic comes next), and an ALB does not health-check such a group: its targets are "unused"
(Target.NotInUse). Then all targets registered is what can be checked here; their health is proven through the
test listener by AfterAllowTestTraffic.

Under ECS-native blue/green the new tasks are the target service revision's (DescribeServiceDeployments:
runningTaskCount of requestedTaskCount) and their target group is the one the revision resolved to; the check is
polled (IN_PROGRESS until they run and their targets are healthy or registered), never held in one invocation.

Environment: STEADY_STATE_TIMEOUT_SECONDS (default 300), POLL_INTERVAL_SECONDS (default 5), ALLOW_LATEST_TAG (default
false), HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from hooks import facts as deployment_facts
from hooks.common import Budget, BudgetExceeded, CheckFailed, Hook, Pending, client, env_float, log
from hooks.handler import handle


def wait_for_steady_state(facts, budget: Budget, interval: float) -> dict:
    while True:
        task_set = deployment_facts.replacement_task_set(facts)
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


class Missing(NamedTuple):
    """What is still missing before the targets pass: "<n> of <wanted> targets healthy in <group>", and the
    others' states."""

    head: str
    others: str

    def __str__(self) -> str:
        return f"{self.head} (others: {self.others})"


def targets_verdict(target_group_arn: str, wanted: int) -> tuple[int, bool] | Missing:
    """(count, health checked) once `wanted` targets are all healthy, or all registered in a group no listener
    routes to yet; else what is still missing."""
    descriptions = client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    states = [d["TargetHealth"]["State"] for d in descriptions]
    healthy = states.count("healthy")
    if healthy >= wanted and healthy == len(states):
        return healthy, True
    not_in_use = [d for d in descriptions if d["TargetHealth"].get("Reason") == "Target.NotInUse"]
    if len(not_in_use) >= wanted and len(not_in_use) == len(states):
        return len(not_in_use), False
    health = [d["TargetHealth"] for d in descriptions]
    reasons = sorted({h.get("Reason", h["State"]) for h in health if h["State"] != "healthy"})
    group = target_group_arn.rsplit("/", 2)[-2]
    return Missing(f"{healthy} of {wanted} targets healthy in {group}", ", ".join(reasons) or "not registered")


def wait_for_healthy_targets(task_set: dict, budget: Budget, interval: float) -> tuple[str, int, bool]:
    balancers = task_set.get("loadBalancers") or []
    if not balancers or not balancers[0].get("targetGroupArn"):
        raise CheckFailed(f"replacement task set {task_set.get('id')} is not attached to a target group")
    target_group_arn = balancers[0]["targetGroupArn"]
    wanted = task_set.get("computedDesiredCount", 1)
    while True:
        verdict = targets_verdict(target_group_arn, wanted)
        if not isinstance(verdict, Missing):
            return target_group_arn, *verdict
        try:
            budget.sleep(interval, "waiting for healthy targets")
        except BudgetExceeded:
            raise CheckFailed(f"{verdict.head} after {budget.seconds:g}s (others: {verdict.others})") from None


def targets_line(target_group_arn: str, count: int, checked: bool) -> str:
    group = target_group_arn.rsplit("/", 2)[-2]
    if checked:
        return f"{count} healthy target(s) in {group}"
    return f"{count} target(s) registered in {group} (no listener yet: health is checked through the test listener)"


def check_ecs(hook: Hook) -> str:
    """POST_SCALE_UP: the target revision's tasks run and their targets are healthy (or registered); polled."""
    facts = hook.facts(with_task_definition=False)
    interval = env_float("POLL_INTERVAL_SECONDS", 5.0)
    found = client("ecs").describe_service_deployments(serviceDeploymentArns=[hook.deployment_arn])
    if not found.get("serviceDeployments"):
        raise CheckFailed(f"service deployment {hook.deployment_arn} not found")
    target = found["serviceDeployments"][0].get("targetServiceRevision") or {}
    revision = (target.get("arn") or "").rsplit("/", 1)[-1]
    running, requested = target.get("runningTaskCount", 0), target.get("requestedTaskCount", 0)
    if not (requested > 0 and running >= requested and not target.get("pendingTaskCount")):
        # Tasks start in seconds to minutes: ask again after the configured poll interval.
        pending = target.get("pendingTaskCount", 0)
        raise Pending(f"revision {revision}: {running} of {requested} task(s) running, {pending} pending", interval)
    if not facts.green_target_group_arn:
        raise CheckFailed(
            f"service revision {revision} has no resolved target group (resolvedConfiguration.loadBalancers)"
        )
    verdict = targets_verdict(facts.green_target_group_arn, requested)
    if isinstance(verdict, Missing):
        raise Pending(str(verdict), interval)
    return f"service revision {revision} runs {running} task(s); {targets_line(facts.green_target_group_arn, *verdict)}"


def check(hook: Hook) -> str:
    if hook.controller == "ecs":
        return check_ecs(hook)
    facts = hook.facts()
    if not facts.replacement_task_set_id:
        raise CheckFailed(f"deployment {facts.deployment_id} has no replacement (Green) task set yet")
    deployment_facts.check_container(facts)
    interval = env_float("POLL_INTERVAL_SECONDS", 5.0)
    timeout = env_float("STEADY_STATE_TIMEOUT_SECONDS", 300.0)
    budget = Budget(min(timeout, hook.budget.remaining()))
    task_set = wait_for_steady_state(facts, budget, interval)
    target_group_arn, count, checked = wait_for_healthy_targets(task_set, budget, interval)
    targets = targets_line(target_group_arn, count, checked)
    return f"task set {task_set.get('id')} steady with {task_set.get('runningCount')} task(s); {targets}"


def handler(event, context):
    return handle("validate-deployment", event, context, check)

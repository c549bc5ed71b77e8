# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a CodeDeploy deployment failed where CodeDeploy does not say: the failed hook's log, the alarms' reasons,
the replacement tasks' stop reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from ..controllers.explain import hook_logged_reason
from ..model.alarms import activated_alarms, alarm_report
from .appspec import AppSpecError, parse
from .deployments import failed_event


def hook_function(snap, event_name):
    """The Lambda function name the deployment's AppSpec runs at a lifecycle event (None: no hook there)."""
    try:
        hooks = parse(snap.get("appspec_content") or "").get("Hooks") or []
    except (AppSpecError, ValueError):
        return None
    for hook in hooks:
        if event_name in hook:
            function = hook[event_name]
            # arn:aws:lambda:region:account:function:name[:qualifier] -> name
            return function.split(":")[6] if function.startswith("arn:") else function
    return None


def hook_failure_reason(logs_client, snap):
    """The reason a failed hook logged for this deployment (hooks/common.py logs one JSON line with
    deployment_id and reason). CodeDeploy itself only knows the hook reported Failed: the why is in the
    function's log group. None when it cannot be found."""
    event = failed_event(snap)
    function = hook_function(snap, event["lifecycle_event_name"]) if event else None
    if not function:
        return None
    started = snap["timings"].get("start_time") or snap["timings"].get("create_time")
    return hook_logged_reason(logs_client, function, snap["deployment_id"], started)


def alarm_failure_reason(cloudwatch_client, snap):
    """Why the alarms that stopped a deployment fired (their StateReason when they went to ALARM) and the
    requests of their target groups during the deployment, as CloudWatch holds them: CodeDeploy only names the
    alarms. None when the deployment was not stopped by an alarm."""
    error = snap["error_information"]
    names = activated_alarms(error.get("message", "")) if error.get("code") == "ALARM_ACTIVE" else []
    started = snap["timings"].get("start_time") or snap["timings"].get("create_time")
    if not names or not started:
        return None
    start = datetime.fromisoformat(started)
    end = snap["timings"].get("complete_time")
    return alarm_report(
        cloudwatch_client,
        names,
        start if start.tzinfo else start.replace(tzinfo=UTC),
        datetime.fromisoformat(end) if end else None,
    )


def replacement_task_failure(ecs_client, snap):
    """Why the replacement task set's tasks stopped (ECS's stoppedReason and exit code), when Install failed.
    CodeDeploy says only that the task set did not become steady; ECS keeps a stopped task for about an hour
    with the reason (e.g. ResourceInitializationError naming a secret the execution role may not read).
    None when nothing is known."""
    event = failed_event(snap)
    replacement = next((t for t in snap["task_sets"] if t.get("task_set_label") == "Green"), None)
    if not event or event["lifecycle_event_name"] != "Install" or not replacement or not snap.get("target_arn"):
        return None
    cluster = snap["target_arn"].split(":", 5)[5].split("/")[1]
    arns = ecs_client.list_tasks(cluster=cluster, startedBy=replacement["identifier"], desiredStatus="STOPPED").get(
        "taskArns", []
    )
    if not arns:
        return None
    reasons: dict[str, int] = {}
    for task in ecs_client.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks", []):
        codes = [c.get("exitCode") for c in task.get("containers", []) if c.get("exitCode") is not None]
        reason = (task.get("stoppedReason") or "stopped") + (f" (exit code {codes[0]})" if codes else "")
        reasons[reason] = reasons.get(reason, 0) + 1
    listed = "; ".join(f"{count} x {reason}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1]))
    return f"{sum(reasons.values())} replacement task(s) stopped: {listed}"

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS-native blue/green deployments (deploymentController ECS): API helpers and the wait.

The plan (stages, strategies, hooks) is module_utils/model/ecs.py; here the API helpers, a service deployment as a
job log reads it (snapshots, progress lines, failure messages) and the watcher; the wait loop is
module_utils/wait.py, shared with CodeDeploy's. AWS behaviour followed: ECS API
reference (UpdateService, ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment,
ContinueServiceDeployment) and the developer guide's blue/green pages.
"""

from __future__ import annotations

import re
from datetime import datetime

from ..model.ecs import ACTIVE_STATUSES, ROLLBACK_STATUSES, TERMINAL_STATUSES
from ..wait import Watcher

# ---------------------------------------------------------------------------------------------
# A service's deployments, newest first
# ---------------------------------------------------------------------------------------------


def _created(deployment: dict) -> float:
    """A deployment's createdAt (a datetime as boto3 returns it, ISO 8601, or epoch seconds) as epoch seconds."""
    moment = deployment.get("createdAt")
    if isinstance(moment, datetime):
        return moment.timestamp()
    if isinstance(moment, str):
        return datetime.fromisoformat(moment).timestamp()
    return float("-inf") if moment is None else float(moment)


def newest_first(deployments: list[dict]) -> list[dict]:
    """Service deployments (ListServiceDeployments' briefs or DescribeServiceDeployments' deployments), the newest
    created first. The API reference names no order for ListServiceDeployments: whoever wants the latest sorts."""
    return sorted(deployments, key=_created, reverse=True)


def service_deployment_briefs(list_page, **request) -> list[dict]:
    """Every brief ListServiceDeployments has for `request` (service, cluster, status, createdAt), newest first.

    `list_page` is the caller's call of it (a boto3 client's `list_service_deployments`, with retries where the
    caller has them): nothing here talks to AWS. botocore has no paginator for ListServiceDeployments, and a page
    (20 by default) may hold any of the service's deployments, since no order is documented: every nextToken is
    followed, then the briefs are sorted by createdAt."""
    briefs: list[dict] = []
    token = None
    while True:
        page = list_page(**request, **({"nextToken": token} if token else {}))
        briefs.extend(page.get("serviceDeployments") or [])
        token = page.get("nextToken")
        if not token:
            return newest_first(briefs)


# ---------------------------------------------------------------------------------------------
# A service deployment as a job log reads it
# ---------------------------------------------------------------------------------------------

_ARN_TAIL = re.compile(r"[^/:]+$")


def short(arn: str | None) -> str:
    """The last part of an ARN (a revision's number, a function's name)."""
    if not arn:
        return ""
    match = _ARN_TAIL.search(arn)
    return match.group(0) if match else arn


def snapshot(deployment: dict) -> dict:
    """What the wait compares between two polls of DescribeServiceDeployments (one serviceDeployment)."""
    target = deployment.get("targetServiceRevision") or {}
    hooks = [
        {
            "hook_id": hook.get("hookId"),
            "target_type": hook.get("targetType"),
            "target": short(hook.get("targetArn")) or hook.get("targetType"),
            "status": hook.get("status"),
        }
        for hook in deployment.get("lifecycleHookDetails") or []
    ]
    alarms = deployment.get("alarms") or {}
    rollback = deployment.get("rollback") or {}
    return {
        "service_deployment_arn": deployment.get("serviceDeploymentArn"),
        "status": deployment.get("status"),
        "status_reason": deployment.get("statusReason"),
        "stage": deployment.get("lifecycleStage"),
        "target_revision_arn": target.get("arn"),
        "source_revision_arns": [r.get("arn") for r in deployment.get("sourceServiceRevisions") or []],
        "traffic": {
            "replacement": target.get("requestedProductionTrafficWeight"),
            "test": target.get("requestedTestTrafficWeight"),
        },
        "tasks": {
            "running": target.get("runningTaskCount"),
            "requested": target.get("requestedTaskCount"),
            "pending": target.get("pendingTaskCount"),
        },
        "hooks": hooks,
        "alarms": {
            "status": alarms.get("status"),
            "triggered": list(alarms.get("triggeredAlarmNames") or []),
        },
        "rollback": {"reason": rollback.get("reason"), "revision_arn": rollback.get("serviceRevisionArn")},
        "timings": {
            "start_time": _iso(deployment.get("startedAt") or deployment.get("createdAt")),
            "end_time": _iso(deployment.get("finishedAt")),
            "duration_seconds": _seconds_between(
                deployment.get("startedAt") or deployment.get("createdAt"), deployment.get("finishedAt")
            ),
        },
    }


def _iso(moment) -> str | None:
    """A deployment's time (a datetime, as boto3 returns it) as ISO 8601; None when not there yet."""
    return moment.isoformat() if hasattr(moment, "isoformat") else None


def _seconds_between(start, end) -> float | None:
    """Seconds from one of the deployment's times to another (datetimes, as boto3 returns them); None if either is
    missing (not finished yet)."""
    if start is None or end is None or not hasattr(start, "timestamp") or not hasattr(end, "timestamp"):
        return None
    return round(end.timestamp() - start.timestamp(), 1)


def stage_seconds(progress: list[dict]) -> dict:
    """Seconds spent in each lifecycle stage, from the wait's timeline ("stage X" and "deployment X" lines with their
    ISO `time`): what CodeDeploy reports per lifecycle event, for the deploy's summary. A stage entered again (one
    per traffic step) adds up."""
    found: dict[str, float] = {}
    current, since = None, 0.0
    for entry in progress:
        message = entry.get("message", "")
        try:
            at = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            continue
        if message.startswith("stage ") or message.startswith("deployment "):
            if current is not None:
                found[current] = round(found.get(current, 0.0) + at - since, 1)
            current = message.split(" ", 1)[1] if message.startswith("stage ") else None
            since = at
    return found


def is_terminal(snap: dict) -> bool:
    return snap["status"] in TERMINAL_STATUSES


def is_failure(snap: dict) -> bool:
    return snap["status"] in ("STOPPED", *ROLLBACK_STATUSES)


def paused_hook(snap: dict) -> dict | None:
    """The PAUSE hook waiting for ContinueServiceDeployment, if any."""
    for hook in snap["hooks"]:
        if hook["target_type"] == "PAUSE" and hook["status"] == "AWAITING_ACTION":
            return hook
    return None


def progress_lines(previous: dict | None, current: dict) -> list[str]:
    """What changed between two snapshots, in the words of the CodeDeploy wait's lines
    (module_utils/codedeploy/deployments.py progress_lines): the status, each stage as it starts, each hook as it
    changes, each traffic step."""
    lines = []
    status_line = None
    if previous is None or previous["status"] != current["status"]:
        before = previous["status"] if previous else None
        status_line = f"deployment {current['status']}" + (f" (was {before})" if before else "")
        if current["alarms"]["triggered"] and current["status"] in ROLLBACK_STATUSES:
            status_line += f": rolled back by the alarm(s) {', '.join(current['alarms']['triggered'])}"
        if not is_terminal(current):
            lines.append(status_line)
    if current["stage"] and (previous is None or previous["stage"] != current["stage"]):
        lines.append(f"stage {current['stage']}")
    before_hooks = {(h["hook_id"], h["target"]): h["status"] for h in (previous or {}).get("hooks", [])}
    for hook in current["hooks"]:
        if before_hooks.get((hook["hook_id"], hook["target"])) == hook["status"]:
            continue
        what = "PAUSE" if hook["target_type"] == "PAUSE" else hook["target"]
        line = f"hook {what} {hook['status']}"
        if hook["status"] == "AWAITING_ACTION":
            line += ": waiting for promote.yml (ContinueServiceDeployment)"
        lines.append(line)
    old_traffic = ((previous or {}).get("traffic") or {}).get("replacement")
    replacement = current["traffic"]["replacement"]
    if replacement is not None and replacement != old_traffic:
        lines.append(f"traffic: original {100 - replacement:g}% / replacement {replacement:g}%")
    if status_line and is_terminal(current):
        lines.append(status_line)
    return lines


def failed_hooks(snap: dict) -> list[dict]:
    """The hooks of the snapshot's current stage that failed or timed out."""
    return [h for h in snap["hooks"] if h["status"] in ("FAILED", "TIMED_OUT")]


def failure_message(snap: dict) -> str:
    """Why a deployment did not succeed, from what ECS says (status reason, rollback reason, alarms, hooks)."""
    parts = [f"service deployment {short(snap['service_deployment_arn'])} ended {snap['status']}"]
    if snap["stage"]:
        parts.append(f"at stage {snap['stage']}")
    message = " ".join(parts)
    failed = failed_hooks(snap)
    if failed:
        message += "; hook " + ", ".join(f"{h['target']} {h['status']}" for h in failed)
    if snap["alarms"]["triggered"]:
        message += f"; alarm(s) {', '.join(snap['alarms']['triggered'])} in ALARM"
    reason = snap["rollback"]["reason"] or snap["status_reason"]
    if reason:
        message += f": {reason}"
    if snap["status"] == "ROLLBACK_SUCCESSFUL":
        revision = short(snap["rollback"]["revision_arn"]) or ", ".join(short(a) for a in snap["source_revision_arns"])
        message += f". Production is served by the previous revision{f' ({revision})' if revision else ''}."
    elif snap["status"] == "ROLLBACK_FAILED":
        message += ". The rollback FAILED: production may be split between revisions; see docs/runbooks/rollback.md."
    return message


def describe_deployment(client, arn):
    found = client.describe_service_deployments(serviceDeploymentArns=[arn], aws_retry=True)
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        reasons = "; ".join(f.get("reason", "") for f in found.get("failures") or [])
        raise LookupError(f"service deployment {arn} not found ({reasons or 'no reason given'})")
    return deployments[0]


def list_deployments(client, cluster, service, statuses=None):
    """Briefs of all the service's deployments (every page), newest first by createdAt: ECS documents no order."""
    request = {"cluster": cluster, "service": service, "maxResults": 100}  # the largest page: fewest calls
    if statuses:
        request["status"] = list(statuses)
    return service_deployment_briefs(
        lambda **params: client.list_service_deployments(aws_retry=True, **params), **request
    )


def active_deployment(client, cluster, service):
    """The service's deployment in progress (ECS runs one at a time; should two be listed, the newest), or None."""
    briefs = list_deployments(client, cluster, service, ACTIVE_STATUSES)
    return briefs[0] if briefs else None


def describe_service(client, cluster, service):
    found = client.describe_services(cluster=cluster, services=[service], aws_retry=True)
    services = [s for s in found.get("services") or [] if s.get("status") != "INACTIVE"]
    if not services:
        raise LookupError(f"ECS service {service} not found in cluster {cluster}")
    return services[0]


def controller_of(service):
    return ((service.get("deploymentController") or {}).get("type")) or "ECS"


def revision_task_definitions(client, revision_arns):
    """Service revision ARN -> its task definition ARN."""
    if not revision_arns:
        return {}
    found = client.describe_service_revisions(serviceRevisionArns=list(revision_arns)[:20], aws_retry=True)
    return {r["serviceRevisionArn"]: r.get("taskDefinition") for r in found.get("serviceRevisions") or []}


class ServiceDeploymentWatcher(Watcher):
    """Polls one service deployment (one DescribeServiceDeployments call a poll: stage, hooks, the target
    revision's counts and traffic weights, rollback and alarms are all in it)."""

    service = "ECS"

    def __init__(self, client, deployment_arn, **kwargs):
        super().__init__(**kwargs)
        self.client = client
        self.deployment_arn = deployment_arn

    def poll(self, force=False):
        deployment = describe_deployment(self.client, self.deployment_arn)
        self.api_calls += 1
        return snapshot(deployment)

    def lines(self, previous, current):
        return progress_lines(previous, current)

    def ending(self, snap):
        return snap["stage"] in ("BAKE_TIME", "CLEAN_UP")

    def settled(self, snap):
        return snap["status"] in TERMINAL_STATUSES

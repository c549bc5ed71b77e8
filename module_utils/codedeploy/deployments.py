# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CodeDeploy deployments of the ECS compute platform: reading them, one snapshot of a deployment as the modules
return it, its progress lines, its failure message, and its watcher (the wait loop is module_utils/wait.py).

Pure where no AWS call is needed, and tested on its own. AWS behaviour followed: CodeDeploy API reference and user
guide, ECS blue/green."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ..aws import chunks as _chunks
from ..aws import iso
from ..aws import paginated as _paginated
from ..aws import seconds_between as _seconds_between
from ..model.alarms import activated_alarms
from ..wait import Watcher
from .appspec import AppSpecError, parse, task_definition_of

# Deployment statuses (GetDeployment's deploymentInfo.status).
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")

# Lifecycle events of an ECS blue/green deployment, in the order they run.
LIFECYCLE_EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
EVENT_STARTED = ("InProgress", "Succeeded", "Failed", "Skipped")


# ---------------------------------------------------------------------------------------------
# Reading deployments
# ---------------------------------------------------------------------------------------------


def get_deployment(client, deployment_id):
    return client.get_deployment(deploymentId=deployment_id, aws_retry=True)["deploymentInfo"]


def batch_get_deployments(client, deployment_ids):
    infos = []
    for chunk in _chunks(list(deployment_ids)):
        infos.extend(client.batch_get_deployments(deploymentIds=chunk, aws_retry=True)["deploymentsInfo"])
    return infos


def revision_sha256(info):
    revision = (info or {}).get("revision") or {}
    return (revision.get("appSpecContent") or revision.get("string") or {}).get("sha256")


def appspec_of(client, info, cache=None):
    """The AppSpec content a deployment deploys.

    GetDeployment never returns it (API reference: "The content property of the appSpecContent object in
    the returned revision is always null. Use GetApplicationRevision and the sha256 property ..."), so it is
    read with GetApplicationRevision by that sha256; content is used directly only where a response has it.
    `cache` (a dict, sha256 -> content) spares the call for a revision read before. None when the
    deployment has no sha256 (a client that created it without one) or the revision is gone.
    """
    revision = (info or {}).get("revision") or {}
    content = revision.get("appSpecContent") or revision.get("string") or {}
    if content.get("content"):
        return content["content"]
    digest = content.get("sha256")
    if not digest:
        return None
    if cache is not None and digest in cache:
        return cache[digest]
    try:
        found = client.get_application_revision(
            applicationName=info["applicationName"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}},
            aws_retry=True,
        )
    except client.exceptions.RevisionDoesNotExistException:
        return None
    text = ((found.get("revision") or {}).get("appSpecContent") or {}).get("content")
    if cache is not None:
        cache[digest] = text
    return text


def list_deployment_ids(client, application_name, deployment_group_name, statuses=None, since=None):
    params = {"applicationName": application_name, "deploymentGroupName": deployment_group_name}
    if statuses:
        params["includeOnlyStatuses"] = list(statuses)
    if since is not None:
        params["createTimeRange"] = {"start": since}
    return _paginated(client, "list_deployments", "deployments", **params)


# With a limit, a group's history is listed over widening windows of creation time (days; None = all time), so
# that only about the deployments returned are read with BatchGetDeployments, however long the history.
HISTORY_WINDOWS_DAYS = (1, 7, 30, 365, None)


def deployments_of_group(client, application_name, deployment_group_name, statuses=None, limit=None):
    """Deployments of a group, newest first (ListDeployments promises no order: sort by createTime)."""
    for days in HISTORY_WINDOWS_DAYS if limit else (None,):
        since = None if days is None else datetime.now(UTC) - timedelta(days=days)
        ids = list_deployment_ids(client, application_name, deployment_group_name, statuses, since)
        if days is None or len(ids) >= limit:
            break
    infos = batch_get_deployments(client, ids)
    infos.sort(key=lambda info: info.get("createTime") or datetime.min.replace(tzinfo=UTC), reverse=True)
    return infos[:limit] if limit else infos


def list_target_ids(client, deployment_id):
    return _paginated(client, "list_deployment_targets", "targetIds", deploymentId=deployment_id)


def get_ecs_targets(client, deployment_id, target_ids=None):
    """The ECS targets of a deployment: lifecycle events and task sets with their traffic weights. `target_ids`:
    listed before (an ECS deployment has one target, its service, from its start to its end)."""
    target_ids = target_ids or list_target_ids(client, deployment_id)
    targets: list[dict] = []
    for chunk in _chunks(target_ids):
        response = client.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=chunk, aws_retry=True)
        targets.extend(t["ecsTarget"] for t in response.get("deploymentTargets", []) if t.get("ecsTarget"))
    return targets


# ---------------------------------------------------------------------------------------------
# The status model: one snapshot of a deployment, as the modules return it
# ---------------------------------------------------------------------------------------------


def _lifecycle_events(targets):
    by_name = {}
    for target in targets:
        for event in target.get("lifecycleEvents") or []:
            by_name[event.get("lifecycleEventName")] = event
    order = {name: index for index, name in enumerate(LIFECYCLE_EVENTS)}
    events = []
    for name in sorted(by_name, key=lambda n: order.get(n, len(order))):
        event = by_name[name]
        diagnostics = event.get("diagnostics") or {}
        events.append(
            {
                "lifecycle_event_name": name,
                "status": event.get("status", "Pending"),
                "start_time": iso(event.get("startTime")),
                "end_time": iso(event.get("endTime")),
                "duration_seconds": _seconds_between(event.get("startTime"), event.get("endTime")),
                "diagnostics": camel_dict_to_snake_dict(diagnostics) if diagnostics else {},
            }
        )
    return events


def _task_sets(targets):
    task_sets = []
    for target in targets:
        for task_set in target.get("taskSetsInfo") or []:
            task_sets.append(
                {
                    "task_set_label": task_set.get("taskSetLabel"),
                    # AWS's model spells this field "identifer"; keep the value under a correct name too.
                    "identifier": task_set.get("identifer"),
                    "status": task_set.get("status"),
                    "traffic_weight": task_set.get("trafficWeight"),
                    "desired_count": task_set.get("desiredCount"),
                    "running_count": task_set.get("runningCount"),
                    "pending_count": task_set.get("pendingCount"),
                    "target_group": (task_set.get("targetGroup") or {}).get("name"),
                }
            )
    return task_sets


def traffic_split(task_sets):
    """{'original': %, 'replacement': %} from the Blue (original) and Green (replacement) task sets."""
    split: dict[str, float | None] = {"original": None, "replacement": None}
    for task_set in task_sets:
        key = {"Blue": "original", "Green": "replacement"}.get(task_set["task_set_label"])
        if key and task_set["traffic_weight"] is not None:
            split[key] = float(task_set["traffic_weight"])
    return split


def _task_definition(content):
    try:
        return task_definition_of(parse(content)) if content else None
    except (AppSpecError, ValueError):
        return None


def snapshot(info, targets=None, rollback_info=None, appspec=None):
    """Everything a module returns about one deployment, snake_cased, with derived fields.

    `appspec`: the AppSpec content (appspec_of), which GetDeployment itself never carries.
    """
    targets = targets or []
    revision = info.get("revision") or {}
    content = dict(revision.get("appSpecContent") or revision.get("string") or {})
    if appspec is not None:
        content["content"] = appspec
    events = _lifecycle_events(targets)
    task_sets = _task_sets(targets)
    rollback = camel_dict_to_snake_dict(info.get("rollbackInfo") or {})
    if rollback_info is not None:
        rollback["rollback_deployment_status"] = rollback_info.get("status")
        rollback["rollback_deployment_error"] = camel_dict_to_snake_dict(rollback_info.get("errorInformation") or {})
    return {
        "deployment_id": info.get("deploymentId"),
        "status": info.get("status"),
        "application_name": info.get("applicationName"),
        "deployment_group_name": info.get("deploymentGroupName"),
        "deployment_config_name": info.get("deploymentConfigName"),
        "description": info.get("description"),
        "creator": info.get("creator"),
        "is_rollback": info.get("creator") == "codeDeployRollback",
        "revision_sha256": content.get("sha256"),
        # The AppSpec itself: rollback.yml redeploys an earlier one as it was.
        "appspec_content": content.get("content"),
        "task_definition_arn": _task_definition(content.get("content")),
        "error_information": camel_dict_to_snake_dict(info.get("errorInformation") or {}),
        "rollback_info": rollback,
        "lifecycle_events": events,
        # The ECS service's ARN (arn:...:service/<cluster>/<service>), from the deployment's target.
        "target_arn": next((t.get("targetArn") for t in targets if t.get("targetArn")), None),
        "task_sets": task_sets,
        "traffic": traffic_split(task_sets),
        "deployment_overview": camel_dict_to_snake_dict(info.get("deploymentOverview") or {}),
        "timings": {
            "create_time": iso(info.get("createTime")),
            "start_time": iso(info.get("startTime")),
            "complete_time": iso(info.get("completeTime")),
            "duration_seconds": _seconds_between(
                info.get("startTime") or info.get("createTime"), info.get("completeTime")
            ),
            "lifecycle_events": {e["lifecycle_event_name"]: e["duration_seconds"] for e in events},
        },
        "instance_termination_wait_time_started": bool(info.get("instanceTerminationWaitTimeStarted")),
    }


def event_status(snap, name):
    for event in snap["lifecycle_events"]:
        if event["lifecycle_event_name"] == name:
            return event["status"]
    return None


def failed_event(snap):
    for event in snap["lifecycle_events"]:
        if event["status"] == "Failed":
            return event
    return None


def is_failure(snap):
    """Failed, stopped, or ended by a rollback: production did not move to the new revision."""
    return snap["status"] in ("Failed", "Stopped") or bool(snap["rollback_info"].get("rollback_deployment_id"))


def failure_message(snap):
    """One paragraph for the operator: what failed, why, and where production is now."""
    parts = [f"Deployment {snap['deployment_id']} {snap['status'].lower()}"]
    event = failed_event(snap)
    why = None
    if event:
        diagnostics = event.get("diagnostics") or {}
        why = diagnostics.get("message") or diagnostics.get("error_code") or "no diagnostic given"
        parts.append(f"at lifecycle event {event['lifecycle_event_name']}: {why}")
    error = snap["error_information"]
    if error.get("message") and error.get("message") == why:  # said once is enough
        parts.append(f"({error.get('code', 'error')})")
    elif error.get("code") or error.get("message"):
        parts.append(f"({error.get('code', 'error')}: {error.get('message', '')})".replace(": )", ")"))
    message = " ".join(parts) + "."
    rollback = snap["rollback_info"]
    if rollback.get("rollback_deployment_id"):
        rollback_status = rollback.get("rollback_deployment_status")
        message += f" Rollback deployment {rollback['rollback_deployment_id']}"
        if rollback_status == "Succeeded":
            message += " succeeded: production traffic is back on the original task set."
        elif rollback_status:
            message += f" is {rollback_status}."
        else:
            message += " was started."
    elif snap["status"] in ("Failed", "Stopped"):
        message += " No rollback was made: check which task set serves production (status playbook)."
    return message


def progress_lines(previous, current):
    """What changed between two snapshots, as lines an operator reads in a job log."""
    lines = []
    status_line = None
    if previous is None or previous["status"] != current["status"]:
        before = previous["status"] if previous else None
        status_line = f"deployment {current['status']}" + (f" (was {before})" if before else "")
        error = current.get("error_information") or {}
        if error.get("code") == "ALARM_ACTIVE":
            status_line += f": stopped by the alarm(s) {', '.join(activated_alarms(error.get('message', '')))}"
        # A deployment starts before its events and ends after them: read in that order.
        if current["status"] not in TERMINAL_STATUSES:
            lines.append(status_line)
    before_events = {e["lifecycle_event_name"]: e for e in (previous or {}).get("lifecycle_events", [])}
    for event in current["lifecycle_events"]:
        old = before_events.get(event["lifecycle_event_name"])
        if old is not None and old["status"] == event["status"]:
            continue
        if event["status"] == "Pending" and old is None:
            continue
        line = f"{event['lifecycle_event_name']} {event['status']}"
        if event["duration_seconds"] is not None and event["status"] in ("Succeeded", "Failed"):
            line += f" in {event['duration_seconds']:g}s"
        if event["status"] == "Failed":
            diagnostics = event.get("diagnostics") or {}
            line += f": {diagnostics.get('message') or diagnostics.get('error_code') or 'no diagnostic given'}"
        lines.append(line)
    old_traffic = (previous or {}).get("traffic") or {}
    traffic = current["traffic"]
    if traffic.get("replacement") is not None and traffic != old_traffic:
        lines.append(
            f"traffic: original {traffic.get('original') or 0:g}% / replacement {traffic.get('replacement') or 0:g}%"
        )
    if status_line and current["status"] in TERMINAL_STATUSES:
        lines.append(status_line)
    return lines


# ---------------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------------


class DeploymentWatcher(Watcher):
    """Polls a CodeDeploy deployment and notices changes quickly without hammering the API (module_utils/
    wait.py: the loop, the back-off, the outage tolerance).

    GetDeployment is polled every time; the targets (lifecycle events, weights), which take two calls, are read
    when GetDeployment shows a change and otherwise at most every `targets_max_interval` seconds. Throttling is
    retried with back-off by the client's decorator.
    """

    service = "CodeDeploy"

    def __init__(
        self,
        client,
        deployment_id,
        *,
        clock=None,
        sleep=None,
        min_interval=0.5,
        max_interval=2.0,
        targets_max_interval=6.0,
        read_targets=True,
    ):
        super().__init__(clock=clock, sleep=sleep, min_interval=min_interval, max_interval=max_interval)
        self.client = client
        self.deployment_id = deployment_id
        self.targets_max_interval = targets_max_interval
        self.read_targets = read_targets
        self._targets = []
        self._target_ids: list[str] = []
        self._targets_read_at = None
        self._targets_interval = min_interval
        self._last_info_key = None
        self._appspecs = {}  # sha256 -> content: read once per revision

    def _info_key(self, info):
        return (
            info.get("status"),
            tuple(sorted((info.get("deploymentOverview") or {}).items())),
            bool(info.get("instanceTerminationWaitTimeStarted")),
            (info.get("rollbackInfo") or {}).get("rollbackDeploymentId"),
        )

    def poll(self, force=False):
        info = get_deployment(self.client, self.deployment_id)
        self.api_calls += 1
        key = self._info_key(info)
        now = self.clock()
        due = self._targets_read_at is None or now - self._targets_read_at >= self._targets_interval
        if self.read_targets and (force or key != self._last_info_key or due):
            if not self._target_ids:  # listed once: the deployment's one target does not change
                self._target_ids = list_target_ids(self.client, self.deployment_id)
                self.api_calls += 1
            targets = get_ecs_targets(self.client, self.deployment_id, self._target_ids) if self._target_ids else []
            self.api_calls += 1 if self._target_ids else 0
            if targets == self._targets:
                self._targets_interval = min(self._targets_interval * 2, self.targets_max_interval)
            else:
                self._targets_interval = self.min_interval * 2
            self._targets = targets
            self._targets_read_at = now
        self._last_info_key = key
        rollback = None
        rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if rollback_id:
            rollback = get_deployment(self.client, rollback_id)
            self.api_calls += 1
        if revision_sha256(info) and revision_sha256(info) not in self._appspecs:
            self.api_calls += 1
        return snapshot(info, self._targets, rollback, appspec_of(self.client, info, self._appspecs))

    def lines(self, previous, current):
        return progress_lines(previous, current)

    def ending(self, snap):
        return event_status(snap, "AfterAllowTraffic") == "Succeeded"

    def settled(self, snap):
        return snap["status"] in TERMINAL_STATUSES and rollback_settled(snap)


def rollback_settled(snap):
    """A failed deployment is finished for us once its rollback (if any) is finished too."""
    rollback = snap["rollback_info"]
    if not rollback.get("rollback_deployment_id"):
        return True
    return rollback.get("rollback_deployment_status") in TERMINAL_STATUSES

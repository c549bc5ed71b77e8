# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CodeDeploy for the ECS compute platform: API helpers, the deployment status model and the wait.

Modules stay thin (argument spec, dispatch, exit); the logic is here, and what needs no AWS call
(status interpretation, progress lines, failure messages, group normalization) is pure and tested
on its own. AWS behaviour followed: CodeDeploy API reference and user guide, ECS blue/green.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from .deployment_wait import BotoConnectionError, Watcher, iso  # noqa: F401 - re-exported
from .ecs_appspec import AppSpecError, parse, task_definition_of
from .model.alarms import activated_alarms, alarm_report

try:
    import botocore.exceptions
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
except ImportError:  # pragma: no cover - the collection is a declared dependency
    AWSRetry = paginated_query_with_retries = None

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

AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
TRIGGER_EVENTS = (
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
    "DeploymentReady",
)
PREDEFINED_CONFIG_PREFIX = "CodeDeployDefault."

# BatchGet* calls take at most 25 ids.
BATCH_SIZE = 25


def retry_decorator():
    """Jittered back-off for every call that opts in with aws_retry=True.

    CodeDeploy throttles with ThrottlingException, which AWSRetry's default list does not name.
    """
    return AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=15, catch_extra_error_codes=["ThrottlingException"])


def _chunks(items, size=BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _seconds_between(start, end):
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds(), 3)
    return None


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


def _paginated(client, operation, result_key, **params):
    """A whole paginated read under the retry policy: a throttled page is retried, not fatal."""
    return paginated_query_with_retries(client, operation, retry_decorator=retry_decorator(), **params).get(
        result_key, []
    )


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


def get_ecs_targets(client, deployment_id):
    """The ECS targets of a deployment: lifecycle events and task sets with their traffic weights."""
    target_ids = _paginated(client, "list_deployment_targets", "targetIds", deploymentId=deployment_id)
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


# CloudWatch Logs receives a function's output asynchronously: the failed hook's line can arrive after the
# deployment has ended (Lambda sends it once the invocation that reported the failure returns). A reason not there
# yet is looked for again, every second, for this long.
LOG_DELIVERY_SECONDS = 15


def hook_logged_reason(logs_client, function: str, deployment_id: str, started: str | None = None):
    """`<function>: <reason>` from the last line a hook logged for this deployment with a reason (hooks/common.py
    logs one JSON line per invocation with deployment_id and reason), or None once LOG_DELIVERY_SECONDS have passed
    without one. The ECS controller's hooks log the service deployment's id (the last part of its ARN)."""
    deadline = time.monotonic() + LOG_DELIVERY_SECONDS
    while True:
        reason = _logged_reason(logs_client, function, deployment_id, started)
        if reason or time.monotonic() >= deadline:
            return f"{function}: {reason}" if reason else None
        time.sleep(1)


def _logged_reason(logs_client, function: str, deployment_id: str, started: str | None) -> str | None:
    request: dict[str, object] = {
        "logGroupName": f"/aws/lambda/{function}",
        "filterPattern": f'"{deployment_id}"',
    }
    # Only the deployment's own time: a log group keeps months of invocations.
    # Without a known start time: the whole group, filtered by the deployment id.
    if started:
        with contextlib.suppress(TypeError, ValueError):
            request["startTime"] = int(datetime.fromisoformat(started).timestamp() * 1000)
    reason = None
    events = paginated_query_with_retries(
        logs_client, "filter_log_events", retry_decorator=retry_decorator(), **request
    )
    for log_event in events.get("events", []):
        # The Lambda runtime prefixes each line (level, time, request id): the JSON starts at "{".
        message = log_event.get("message", "")
        try:
            line = json.loads(message[message.find("{") :]) if "{" in message else None
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("deployment_id") == deployment_id and line.get("reason"):
            reason = line["reason"]
    return reason


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


def wait_condition(wait_for):
    """A predicate over snapshots for the module's `wait_for` option (None = a terminal status)."""
    wait_for = wait_for or {}
    if wait_for.get("status") == "Ready":
        return lambda snap, timeline: snap["status"] == "Ready", "status Ready"
    if wait_for.get("lifecycle_event"):
        name = wait_for["lifecycle_event"]
        wanted = ("Succeeded",) if wait_for.get("lifecycle_event_status", "succeeded") == "succeeded" else EVENT_STARTED
        return (lambda snap, timeline: event_status(snap, name) in wanted), f"{name} {'/'.join(wanted)}"
    if wait_for.get("replacement_traffic_percent") is not None:
        percent = float(wait_for["replacement_traffic_percent"])
        return (
            lambda snap, timeline: (snap["traffic"].get("replacement") or 0) >= percent,
            f"replacement task set at {percent:g}% of production traffic",
        )
    if wait_for.get("progress"):
        return (lambda snap, timeline: len(timeline) > 0), "the next change"
    return (lambda snap, timeline: False), "a terminal status"


class DeploymentWatcher(Watcher):
    """Polls a CodeDeploy deployment and notices changes quickly without hammering the API (module_utils/
    deployment_wait.py: the loop, the back-off, the outage tolerance).

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
            targets = get_ecs_targets(self.client, self.deployment_id)
            self.api_calls += 2
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

    def settled(self, snap):
        return snap["status"] in TERMINAL_STATUSES and rollback_settled(snap)


def rollback_settled(snap):
    """A failed deployment is finished for us once its rollback (if any) is finished too."""
    rollback = snap["rollback_info"]
    if not rollback.get("rollback_deployment_id"):
        return True
    return rollback.get("rollback_deployment_status") in TERMINAL_STATUSES


# ---------------------------------------------------------------------------------------------
# Deployment group: desired state from module parameters, normalized comparison
# ---------------------------------------------------------------------------------------------


def desired_group(params):
    """The API fields of a deployment group that the module's parameters set (unset = not touched)."""
    desired = {}
    if params.get("service_role_arn") is not None:
        desired["serviceRoleArn"] = params["service_role_arn"]
    if params.get("deployment_config_name") is not None:
        desired["deploymentConfigName"] = params["deployment_config_name"]
    if params.get("ecs_service") is not None:
        desired["ecsServices"] = [
            {"clusterName": params["ecs_service"]["cluster"], "serviceName": params["ecs_service"]["service"]}
        ]
    if params.get("target_group_names") is not None:
        pair: dict[str, object] = {"targetGroups": [{"name": name} for name in params["target_group_names"]]}
        pair["prodTrafficRoute"] = {"listenerArns": list(params.get("prod_listener_arns") or [])}
        if params.get("test_listener_arns"):
            pair["testTrafficRoute"] = {"listenerArns": list(params["test_listener_arns"])}
        desired["loadBalancerInfo"] = {"targetGroupPairInfoList": [pair]}
    blue_green = {}
    if params.get("deployment_ready_wait_minutes") is not None:
        minutes = params["deployment_ready_wait_minutes"]
        blue_green["deploymentReadyOption"] = (
            {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": minutes}
            if minutes > 0
            else {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
        )
    if params.get("blue_termination_wait_minutes") is not None:
        blue_green["terminateBlueInstancesOnDeploymentSuccess"] = {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": params["blue_termination_wait_minutes"],
        }
    if blue_green:
        desired["blueGreenDeploymentConfiguration"] = blue_green
    if params.get("auto_rollback_events") is not None:
        events = list(params["auto_rollback_events"])
        desired["autoRollbackConfiguration"] = {"enabled": bool(events), "events": events}
    if params.get("alarms") is not None:
        desired["alarmConfiguration"] = {
            "enabled": bool(params["alarms"]),
            "ignorePollAlarmFailure": bool(params.get("alarm_ignore_poll_failure")),
            "alarms": [{"name": name} for name in params["alarms"]],
        }
    if params.get("triggers") is not None:
        desired["triggerConfigurations"] = [
            {
                "triggerName": trigger["name"],
                "triggerTargetArn": trigger["target_arn"],
                "triggerEvents": list(trigger["events"]),
            }
            for trigger in params["triggers"]
        ]
    return desired


def _sorted_names(items, key="name"):
    return sorted(item.get(key) for item in items or [])


def normalize_group(fields):
    """A canonical form of group fields, so that order and AWS's defaults do not look like changes."""
    normal = {}
    if "serviceRoleArn" in fields:
        normal["serviceRoleArn"] = fields["serviceRoleArn"]
    if "deploymentConfigName" in fields:
        normal["deploymentConfigName"] = fields["deploymentConfigName"]
    if "ecsServices" in fields:
        normal["ecsServices"] = sorted(
            (s.get("clusterName"), s.get("serviceName")) for s in fields.get("ecsServices") or []
        )
    if "loadBalancerInfo" in fields:
        pairs = []
        for pair in (fields.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []:
            pairs.append(
                (
                    tuple(_sorted_names(pair.get("targetGroups"))),
                    tuple(sorted((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [])),
                    tuple(sorted((pair.get("testTrafficRoute") or {}).get("listenerArns") or [])),
                )
            )
        normal["loadBalancerInfo"] = sorted(pairs)
    if "blueGreenDeploymentConfiguration" in fields:
        blue_green = fields.get("blueGreenDeploymentConfiguration") or {}
        normal_bg = {}
        ready = blue_green.get("deploymentReadyOption")
        if ready is not None:
            action = ready.get("actionOnTimeout", "CONTINUE_DEPLOYMENT")
            minutes = ready.get("waitTimeInMinutes", 0) if action == "STOP_DEPLOYMENT" else 0
            normal_bg["deploymentReadyOption"] = (action, minutes)
        terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess")
        if terminate is not None:
            normal_bg["terminateBlueInstancesOnDeploymentSuccess"] = (
                terminate.get("action", "TERMINATE"),
                terminate.get("terminationWaitTimeInMinutes", 0),
            )
        normal["blueGreenDeploymentConfiguration"] = normal_bg
    if "autoRollbackConfiguration" in fields:
        rollback = fields.get("autoRollbackConfiguration") or {}
        enabled = bool(rollback.get("enabled"))
        normal["autoRollbackConfiguration"] = (
            enabled,
            tuple(sorted(rollback.get("events") or [])) if enabled else (),
        )
    if "alarmConfiguration" in fields:
        alarms = fields.get("alarmConfiguration") or {}
        enabled = bool(alarms.get("enabled"))
        normal["alarmConfiguration"] = (
            (enabled, bool(alarms.get("ignorePollAlarmFailure")), tuple(_sorted_names(alarms.get("alarms"))))
            if enabled
            else (False,)
        )
    if "triggerConfigurations" in fields:
        normal["triggerConfigurations"] = sorted(
            (t.get("triggerName"), t.get("triggerTargetArn"), tuple(sorted(t.get("triggerEvents") or [])))
            for t in fields.get("triggerConfigurations") or []
        )
    return normal


def group_changes(current, desired):
    """The desired fields whose normalized value differs from the current group's; only those are sent.

    A partly given blueGreenDeploymentConfiguration is merged with the current one first, so that
    setting the ready option alone does not reset the termination wait (UpdateDeploymentGroup
    replaces the whole structure).
    """
    desired = dict(desired)
    if "blueGreenDeploymentConfiguration" in desired:
        merged = dict(current.get("blueGreenDeploymentConfiguration") or {})
        merged.pop("greenFleetProvisioningOption", None)  # EC2 only; ECS rejects it
        merged.update(desired["blueGreenDeploymentConfiguration"])
        desired["blueGreenDeploymentConfiguration"] = merged
    current_normal = normalize_group({key: current.get(key) for key in desired})
    desired_normal = normalize_group(desired)
    return {key: value for key, value in desired.items() if current_normal.get(key) != desired_normal.get(key)}


def group_view(info):
    """What the module returns about a group: the fields it manages, snake_cased."""
    keep = (
        "applicationName",
        "deploymentGroupId",
        "deploymentGroupName",
        "deploymentConfigName",
        "serviceRoleArn",
        "computePlatform",
        "deploymentStyle",
        "ecsServices",
        "loadBalancerInfo",
        "blueGreenDeploymentConfiguration",
        "autoRollbackConfiguration",
        "alarmConfiguration",
        "triggerConfigurations",
        "lastSuccessfulDeployment",
        "lastAttemptedDeployment",
    )
    view = {key: info[key] for key in keep if key in info}
    for key in ("lastSuccessfulDeployment", "lastAttemptedDeployment"):
        if key in view:
            view[key] = {k: iso(v) for k, v in view[key].items()}
    return camel_dict_to_snake_dict(view)


# ---------------------------------------------------------------------------------------------
# Deployment configs
# ---------------------------------------------------------------------------------------------


def traffic_routing_config(routing_type, percentage=None, interval=None):
    """The API's trafficRoutingConfig for an ECS config; percentages and intervals (minutes) as ints."""
    if routing_type == "AllAtOnce":
        return {"type": "AllAtOnce"}
    if routing_type == "TimeBasedCanary":
        return {
            "type": routing_type,
            "timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": interval},
        }
    return {
        "type": routing_type,
        "timeBasedLinear": {"linearPercentage": percentage, "linearInterval": interval},
    }


def normalize_routing(config):
    config = config or {}
    routing_type = config.get("type", "AllAtOnce")
    if routing_type == "TimeBasedCanary":
        detail = config.get("timeBasedCanary") or {}
        return (routing_type, detail.get("canaryPercentage"), detail.get("canaryInterval"))
    if routing_type == "TimeBasedLinear":
        detail = config.get("timeBasedLinear") or {}
        return (routing_type, detail.get("linearPercentage"), detail.get("linearInterval"))
    return (routing_type, None, None)


def groups_using_config(client, config_name):
    """(users, unreadable): every application/group whose deployment config is `config_name`, across the
    account/region, and the applications whose groups the caller may not read (an environment's operator may read
    its own applications only: whether another's groups use the config is then CodeDeploy's to say, as
    DeleteDeploymentConfig refuses a config in use)."""
    users, unreadable = [], []
    for application in _paginated(client, "list_applications", "applications"):
        try:
            group_names = _paginated(client, "list_deployment_groups", "deploymentGroups", applicationName=application)
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("AccessDenied", "AccessDeniedException"):
                raise
            unreadable.append(application)
            continue
        for chunk in _chunks(group_names):
            response = client.batch_get_deployment_groups(
                applicationName=application, deploymentGroupNames=chunk, aws_retry=True
            )
            for group in response.get("deploymentGroupsInfo", []):
                if group.get("deploymentConfigName") == config_name:
                    users.append(f"{application}/{group['deploymentGroupName']}")
    return users, unreadable

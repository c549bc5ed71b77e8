"""The ECS blue/green deployment engine: what CodeDeploy does between CreateDeployment and Succeeded.

It follows AWS's documented sequence for the ECS compute platform, through the ECS, ELBv2, Lambda and
CloudWatch APIs of the sandbox (never reaching into them):

    BeforeInstall* -> Install (replacement task set on the other target group, running)
    -> AfterInstall* -> AllowTestTraffic (test listener -> replacement) -> AfterAllowTestTraffic*
    -> [Ready: wait for ContinueDeployment when the group's deploymentReadyOption says STOP_DEPLOYMENT]
    -> BeforeAllowTraffic* -> AllowTraffic (production weights per the deployment config)
    -> AfterAllowTraffic* -> termination wait -> original task set deleted -> Succeeded

(* = a hook: the AppSpec's Lambda is invoked with {DeploymentId, LifecycleEventHookExecutionId} and the
event waits for PutLifecycleEventHookExecutionStatus, at most an hour.) The group's alarms are polled
throughout; an alarm in ALARM stops the deployment. A failure or stop rolls back as AWS does, when the
auto-rollback configuration says so: a new deployment (creator codeDeployRollback) puts both listeners back
on the original task set and deletes the replacement; rollbackInfo links the two.

Every step is recorded in the store before and after it runs, so a restarted service resumes each active
deployment where it was (a hook invoked before the restart is waited for, not invoked again).
Minutes (traffic intervals, ready and termination waits, the hook timeout) are scaled by time_scale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import string
import threading
import time
import uuid

import boto3
import botocore.exceptions
import yaml
from botocore.config import Config as BotoConfig

from sandbox.api_calls import ENGINE_APP_ID
from sandbox.codedeploy.model import ACTIVE, EVENTS, HOOK_EVENTS, PREDEFINED_CONFIGS, TERMINAL, ApiError, now

log = logging.getLogger("sandbox.codedeploy.engine")

HOOK_TIMEOUT_MINUTES = 60
# How long Install waits for the replacement task set's tasks: AWS documents no figure (ledger: assumed).
INSTALL_TIMEOUT_MINUTES = 10
TICK = 0.2


class Abort(Exception):
    """Ends a deployment: status Failed or Stopped, why, and which auto-rollback event it counts as."""

    def __init__(
        self, status: str, code: str, message: str, rollback_event: str | None, diagnostics: dict | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.rollback_event = status, code, message, rollback_event
        self.diagnostics = diagnostics


def traffic_steps(config: dict) -> list[tuple[int, float]]:
    """[(replacement %, minutes to wait after this step)] for a deployment config's traffic routing."""
    routing = config.get("trafficRoutingConfig") or {"type": "AllAtOnce"}
    if routing["type"] == "TimeBasedCanary":
        canary = routing["timeBasedCanary"]
        return [(canary["canaryPercentage"], canary["canaryInterval"]), (100, 0)]
    if routing["type"] == "TimeBasedLinear":
        linear = routing["timeBasedLinear"]
        steps, percent = [], 0
        while percent + linear["linearPercentage"] < 100:
            percent += linear["linearPercentage"]
            steps.append((percent, linear["linearInterval"]))
        return [*steps, (100, 0)]
    return [(100, 0)]


class Engine:
    def __init__(self, store, cfg):
        self.store, self.cfg = store, cfg
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=cfg.region
        )
        boto = BotoConfig(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=5,
            read_timeout=30,
            user_agent_appid=ENGINE_APP_ID,
        )

        def client(name):
            return session.client(name, endpoint_url=cfg.aws_endpoint, config=boto)

        self.ecs, self.elbv2, self.awslambda = client("ecs"), client("elbv2"), client("lambda")
        self.cloudwatch, self.iam = client("cloudwatch"), client("iam")
        self.threads: dict[str, threading.Thread] = {}
        self.threads_lock = threading.Lock()

    # --- state ----------------------------------------------------------------------------------------

    def update(self, deployment_id: str, change) -> dict:
        """Read-modify-write of one deployment, atomic against the API threads."""
        with self.store.transaction():
            body = self.store.get("deployment", deployment_id)
            change(body)
            self.store.put(
                "deployment", deployment_id, body, parent=f"{body['applicationName']}/{body['deploymentGroupName']}"
            )
        return body

    def get(self, deployment_id: str) -> dict:
        return self.store.get("deployment", deployment_id)

    def scaled(self, minutes: float) -> float:
        return minutes * 60 * self.cfg.time_scale

    # --- creation -------------------------------------------------------------------------------------

    def check_group_resources(self, body: dict) -> tuple[str, str] | None:  # noqa: PLR0911 - one return per check
        """The checks AWS makes against the group's ECS service, target groups, listeners and role."""
        service = body["ecsServices"][0]
        try:
            found = self.ecs.describe_services(cluster=service["clusterName"], services=[service["serviceName"]])
        except botocore.exceptions.ClientError as e:
            return "InvalidECSServiceException", f"ECS cluster {service['clusterName']}: {e}"
        services = [s for s in found.get("services", []) if s.get("status") == "ACTIVE"]
        if not services:
            return (
                "InvalidECSServiceException",
                f"ECS service {service['serviceName']} not found in {service['clusterName']}",
            )
        if (services[0].get("deploymentController") or {}).get("type") != "CODE_DEPLOY":
            return (
                "InvalidECSServiceException",
                f"ECS service {service['serviceName']} does not use the CODE_DEPLOY controller",
            )
        pair = body["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        names = [tg["name"] for tg in pair["targetGroups"]]
        try:
            self.elbv2.describe_target_groups(Names=names)
        except botocore.exceptions.ClientError:
            return "InvalidTargetGroupPairException", f"Target groups {names} must both exist"
        listeners = pair["prodTrafficRoute"]["listenerArns"] + (pair.get("testTrafficRoute") or {}).get(
            "listenerArns", []
        )
        try:
            self.elbv2.describe_listeners(ListenerArns=listeners)
        except botocore.exceptions.ClientError:
            return "InvalidTargetGroupPairException", f"Listeners {listeners} must exist"
        role = body.get("serviceRoleArn") or ""
        try:
            self.iam.get_role(RoleName=role.rsplit("/", 1)[-1])
        except botocore.exceptions.ClientError:
            return "InvalidRoleException", f"The service role {role or '(none)'} does not exist"
        return None

    def new_deployment(
        self, group: dict, request: dict, config_name: str, creator: str, rollback_of: dict | None = None
    ):
        style = group["deploymentStyle"]
        body = {
            "applicationName": group["applicationName"],
            "deploymentGroupName": group["deploymentGroupName"],
            "deploymentConfigName": config_name,
            "deploymentId": _deployment_id(),
            "revision": request["revision"],
            "status": "Created",
            "createTime": now(),
            "creator": creator,
            "ignoreApplicationStopFailures": False,
            "autoRollbackConfiguration": request.get("autoRollbackConfiguration") or group["autoRollbackConfiguration"],
            "updateOutdatedInstancesOnly": False,
            "deploymentStyle": style,
            "instanceTerminationWaitTimeStarted": False,
            "blueGreenDeploymentConfiguration": group["blueGreenDeploymentConfiguration"],
            "loadBalancerInfo": group["loadBalancerInfo"],
            "fileExistsBehavior": "DISALLOW",
            "deploymentStatusMessages": [],
            "computePlatform": "ECS",
            "_engine": {"events": {name: {"status": "Pending"} for name in EVENTS}, "hooks": {}},
        }
        if request.get("description"):
            body["description"] = request["description"]
        if rollback_of is not None:
            body["rollbackInfo"] = {"rollbackTriggeringDeploymentId": rollback_of["deploymentId"]}
            body["_engine"]["rollback_of"] = rollback_of["deploymentId"]
        last = self._last_successful(group)
        if last:
            body["previousRevision"] = last["revision"]
        return body

    def _last_successful(self, group: dict) -> dict | None:
        for deployment in reversed(
            self.store.all("deployment", f"{group['applicationName']}/{group['deploymentGroupName']}")
        ):
            if deployment["status"] == "Succeeded":
                return deployment
        return None

    # --- the API's view -------------------------------------------------------------------------------

    def public(self, body: dict) -> dict:
        info = {k: v for k, v in body.items() if not k.startswith("_")}
        # GetDeployment (API reference): "The content property of the appSpecContent object in the returned
        # revision is always null. Use GetApplicationRevision and the sha256 property ... to get the content."
        for key in ("revision", "previousRevision"):
            if key in info:
                info[key] = without_content(info[key])
        target_status = _target_status(body["status"])
        overview = dict.fromkeys(["Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"], 0)
        overview[target_status] += 1
        info["deploymentOverview"] = overview
        return info

    def targets(self, body: dict) -> list[dict]:
        engine = body["_engine"]
        if "target" not in engine:
            return []
        target = engine["target"]
        events = []
        for name in EVENTS:
            event = engine["events"][name]
            entry = {"lifecycleEventName": name, "status": event["status"]}
            for key in ("startTime", "endTime", "diagnostics"):
                if key in event:
                    entry[key] = event[key]
            events.append(entry)
        return [
            {
                "deploymentTargetType": "ECSTarget",
                "ecsTarget": {
                    "deploymentId": body["deploymentId"],
                    "targetId": target["id"],
                    "targetArn": target["arn"],
                    "lastUpdatedAt": engine.get("updated", body["createTime"]),
                    "lifecycleEvents": events,
                    "status": _target_status(body["status"]),
                    "taskSetsInfo": self._task_sets_info(body),
                },
            }
        ]

    def _task_sets_info(self, body: dict) -> list[dict]:
        engine = body["_engine"]
        recorded = engine.get("task_sets") or {}
        live = self._live_task_sets(body) if body["status"] in ACTIVE else {}
        green_weight = engine.get("green_weight", 0)
        info = []
        for label in ("Blue", "Green"):
            task_set = recorded.get(label)
            if not task_set:
                continue
            current = live.get(task_set["id"], {})
            info.append(
                {
                    "identifer": task_set["id"],
                    "desiredCount": current.get("computedDesiredCount", task_set.get("desiredCount", 0)),
                    "pendingCount": current.get("pendingCount", 0),
                    "runningCount": current.get("runningCount", task_set.get("runningCount", 0)),
                    "status": current.get("status", task_set.get("status", "DRAINING")),
                    "trafficWeight": float(green_weight if label == "Green" else 100 - green_weight),
                    "targetGroup": {"name": task_set["targetGroup"]},
                    "taskSetLabel": label,
                }
            )
        return info

    # --- requests from the API --------------------------------------------------------------------------

    def request_stop(self, body: dict, rollback: bool | None) -> dict:

        if body["status"] in TERMINAL:
            raise ApiError(
                "DeploymentAlreadyCompletedException", f"The deployment {body['deploymentId']} is already completed."
            )

        def mark(d):
            d["_engine"]["stop"] = {"rollback": rollback}

        self.update(body["deploymentId"], mark)
        return {"status": "Pending", "statusMessage": "Stop deployment request received"}

    def request_continue(self, body: dict, wait_type: str) -> dict:

        engine = body["_engine"]
        if wait_type == "READY_WAIT" and body["status"] != "Ready":
            raise ApiError(
                "DeploymentIsNotInReadyStateException", f"The deployment {body['deploymentId']} is not in Ready state."
            )
        if wait_type == "TERMINATION_WAIT" and not (body["status"] == "InProgress" and engine.get("terminating")):
            raise ApiError(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {body['deploymentId']} is not waiting to terminate the original task set.",
            )

        def mark(d):
            d["_engine"].setdefault("continue", []).append(wait_type)

        self.update(body["deploymentId"], mark)
        return {}

    def hook_status(self, body: dict, execution_id: str | None, status: str | None) -> dict:

        if status not in ("Succeeded", "Failed"):
            raise ApiError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status} is not valid: use Succeeded or Failed.",
            )
        with self.store.transaction():
            hook = self.store.get("hook", execution_id or "")
            if hook is None or hook["deploymentId"] != body["deploymentId"]:
                raise ApiError(
                    "InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution ID {execution_id} is not valid for {body['deploymentId']}.",
                )
            if hook["status"] != "Pending":
                raise ApiError(
                    "LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event {hook['event']} of {body['deploymentId']} is already completed.",
                )
            hook.update(status=status, reportedAt=now())
            self.store.put("hook", execution_id, hook, parent=body["deploymentId"])
        log.info("%s %s hook reported %s", body["deploymentId"], hook["event"], status)
        return {"lifecycleEventHookExecutionId": execution_id}

    # --- running ----------------------------------------------------------------------------------------

    def start(self, deployment_id: str) -> None:
        with self.threads_lock:
            thread = self.threads.get(deployment_id)
            if thread and thread.is_alive():
                return
            thread = threading.Thread(target=self.run, args=(deployment_id,), name=deployment_id, daemon=True)
            self.threads[deployment_id] = thread
            thread.start()

    def resume_all(self) -> None:
        for body in self.store.all("deployment"):
            if body["status"] in ACTIVE:
                log.info("resuming %s (%s)", body["deploymentId"], body["status"])
                self.start(body["deploymentId"])

    def run(self, deployment_id: str) -> None:
        try:
            body = self.get(deployment_id)
            if body["status"] == "Created":
                body = self.update(deployment_id, lambda d: d.update(status="InProgress", startTime=now()))
            if body["_engine"].get("rollback_of"):
                self.run_rollback(deployment_id)
            else:
                self.run_deployment(deployment_id)
        except Abort as abort:
            self.finish_failed(deployment_id, abort)
        except Exception as e:  # the deployment must end, whatever went wrong
            log.exception("%s: engine error", deployment_id)
            self.finish_failed(
                deployment_id, Abort("Failed", "INTERNAL_ERROR", f"{type(e).__name__}: {e}", "DEPLOYMENT_FAILURE")
            )

    def _service(self, cluster: str, service: str) -> dict:
        found = self.ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        if not found:
            raise Abort(
                "Failed", "INVALID_ECS_SERVICE", f"ECS service {service} not found in {cluster}", "DEPLOYMENT_FAILURE"
            )
        return found[0]

    def _group(self, body: dict) -> dict:
        group = self.store.get("group", f"{body['applicationName']}/{body['deploymentGroupName']}")
        if group is None:
            raise Abort("Failed", "DEPLOYMENT_GROUP_MISSING", "The deployment group was deleted", "DEPLOYMENT_FAILURE")
        return group

    def plan(self, deployment_id: str) -> dict:
        """Decide once which target group and task set are the original (blue); recorded for resuming."""
        body = self.get(deployment_id)
        if "target" in body["_engine"]:
            return body
        group = self._group(body)
        ecs_service = group["ecsServices"][0]
        service = self._service(ecs_service["clusterName"], ecs_service["serviceName"])
        pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        groups = self.elbv2.describe_target_groups(Names=[tg["name"] for tg in pair["targetGroups"]])["TargetGroups"]
        arns = {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in groups}
        prod = pair["prodTrafficRoute"]["listenerArns"][0]
        weights = self._forward_weights(prod)
        blue_arn = max(weights, key=lambda arn: weights[arn]) if weights else arns[pair["targetGroups"][0]["name"]]
        by_arn = {arn: name for name, arn in arns.items()}
        blue_name = by_arn.get(blue_arn)
        if blue_name is None:
            raise Abort(
                "Failed",
                "ELASTIC_LOAD_BALANCING_INVALID",
                f"The production listener forwards to {blue_arn}, which is not in the deployment group's pair",
                "DEPLOYMENT_FAILURE",
            )
        green_name = next(name for name in arns if name != blue_name)
        primary = next((ts for ts in service.get("taskSets", []) if ts.get("status") == "PRIMARY"), None) or next(
            (
                ts
                for ts in service.get("taskSets", [])
                if (ts.get("loadBalancers") or [{}])[0].get("targetGroupArn") == arns[blue_name]
            ),
            None,
        )
        task_sets = {}
        if primary:
            task_sets["Blue"] = {
                "id": primary["id"],
                "arn": primary["taskSetArn"],
                "targetGroup": blue_name,
                "desiredCount": primary.get("computedDesiredCount", 0),
                "runningCount": primary.get("runningCount", 0),
                "status": "PRIMARY",
                "taskDefinition": primary.get("taskDefinition"),
            }

        def record(d):
            d["_engine"].update(
                target={
                    "id": f"{ecs_service['clusterName']}:{ecs_service['serviceName']}",
                    "arn": service["serviceArn"],
                    "cluster": ecs_service["clusterName"],
                    "service": ecs_service["serviceName"],
                },
                blue={"name": blue_name, "arn": arns[blue_name]},
                green={"name": green_name, "arn": arns[green_name]},
                prod_listeners=pair["prodTrafficRoute"]["listenerArns"],
                test_listeners=(pair.get("testTrafficRoute") or {}).get("listenerArns", []),
                task_sets=task_sets,
                green_weight=0,
            )

        return self.update(deployment_id, record)

    def _forward_weights(self, listener_arn: str) -> dict[str, int]:
        listener = self.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
        weights: dict[str, int] = {}
        for action in listener.get("DefaultActions", []):
            if action.get("Type") != "forward":
                continue
            forward = (action.get("ForwardConfig") or {}).get("TargetGroups")
            if forward:
                for tg in forward:
                    weights[tg["TargetGroupArn"]] = int(tg.get("Weight", 1))
            elif action.get("TargetGroupArn"):
                weights[action["TargetGroupArn"]] = 1
        return weights

    def route(self, listener_arn: str, blue_arn: str, green_arn: str, green_weight: int) -> None:
        action: dict[str, object]
        if green_weight in (0, 100):
            action = {"Type": "forward", "TargetGroupArn": green_arn if green_weight == 100 else blue_arn}
        else:
            action = {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": blue_arn, "Weight": 100 - green_weight},
                        {"TargetGroupArn": green_arn, "Weight": green_weight},
                    ]
                },
            }
        self.elbv2.modify_listener(ListenerArn=listener_arn, DefaultActions=[action])

    def event(self, deployment_id: str, name: str, status: str, diagnostics: dict | None = None) -> None:
        def change(d):
            event = d["_engine"]["events"][name]
            event["status"] = status
            if status == "InProgress":
                event["startTime"] = now()
            elif status in ("Succeeded", "Failed", "Skipped"):
                event.setdefault("startTime", now())
                event["endTime"] = now()
            if diagnostics:
                event["diagnostics"] = diagnostics
            d["_engine"]["updated"] = now()

        self.update(deployment_id, change)
        log.info("%s %s %s", deployment_id, name, status)

    def wait(self, deployment_id: str, seconds: float | None, done=None, wait_type: str | None = None) -> None:
        """Sleep until `done()` is true, `seconds` pass, or ContinueDeployment(wait_type); raise Abort on a stop
        request or an alarm. The group's alarms are polled every second, as long as the deployment runs."""
        deadline = None if seconds is None else time.monotonic() + seconds
        next_alarm_check = 0.0
        while True:
            body = self.get(deployment_id)
            engine = body["_engine"]
            stop = engine.get("stop")
            if stop is not None:
                raise Abort(
                    "Stopped",
                    "MANUAL_STOP",
                    "The deployment was stopped by a user's StopDeployment request",
                    "DEPLOYMENT_STOP_ON_REQUEST" if stop.get("rollback") is not False else None,
                )
            if time.monotonic() >= next_alarm_check:
                self.check_alarms(body)
                next_alarm_check = time.monotonic() + 1.0
            if wait_type and wait_type in engine.get("continue", []):
                return
            if done is not None and done():
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(TICK)

    def check_alarms(self, body: dict) -> None:
        group = self._group(body)
        alarms = group.get("alarmConfiguration") or {}
        if not alarms.get("enabled") or not alarms.get("alarms"):
            return
        names = [a["name"] for a in alarms["alarms"]]
        try:
            found = self.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            if alarms.get("ignorePollAlarmFailure"):
                return
            raise Abort(
                "Stopped", "ALARM_ACTIVE", f"Could not read the alarms {names}: {e}", "DEPLOYMENT_STOP_ON_ALARM"
            ) from None
        firing = sorted(a["AlarmName"] for a in found if a["StateValue"] == "ALARM")
        if firing:
            raise Abort(
                "Stopped",
                "ALARM_ACTIVE",
                f"One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
                f"and the affected deployments have been stopped. Activated alarms: <{', '.join(firing)}>",
                "DEPLOYMENT_STOP_ON_ALARM",
            )

    def run_hook(self, deployment_id: str, event: str, function: str | None) -> None:
        body = self.get(deployment_id)
        if function is None:
            self.event(deployment_id, event, "Succeeded")
            return
        execution_id = body["_engine"]["hooks"].get(event)
        if execution_id is None or self.store.get("hook", execution_id) is None:
            execution_id = str(uuid.uuid4())
            with self.store.transaction():
                self.store.put(
                    "hook",
                    execution_id,
                    {
                        "id": execution_id,
                        "deploymentId": deployment_id,
                        "event": event,
                        "function": function,
                        "status": "Pending",
                    },
                    parent=deployment_id,
                )
                current = self.store.get("deployment", deployment_id)
                current["_engine"]["hooks"][event] = execution_id
                self.store.put(
                    "deployment",
                    deployment_id,
                    current,
                    parent=f"{current['applicationName']}/{current['deploymentGroupName']}",
                )
            self.event(deployment_id, event, "InProgress")
            payload = {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id}
            try:
                self.awslambda.invoke(
                    FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode()
                )
            except botocore.exceptions.ClientError as e:
                raise Abort(
                    "Failed",
                    "INVALID_LAMBDA_FUNCTION",
                    f"The {event} hook could not invoke Lambda function {function}: "
                    f"{e.response['Error'].get('Message', e)}",
                    "DEPLOYMENT_FAILURE",
                    {
                        "errorCode": "ScriptMissing",
                        "scriptName": function,
                        "message": f"Lambda function {function} could not be invoked",
                        "logTail": "",
                    },
                ) from None
            log.info("%s %s: invoked %s (%s)", deployment_id, event, function, execution_id)

        def reported():
            return self.store.get("hook", execution_id)["status"] != "Pending"

        self.wait(deployment_id, self.scaled(HOOK_TIMEOUT_MINUTES), done=reported)
        status = self.store.get("hook", execution_id)["status"]
        if status == "Succeeded":
            self.event(
                deployment_id,
                event,
                "Succeeded",
                {"errorCode": "Success", "scriptName": function, "message": "Succeeded", "logTail": ""},
            )
            return
        if status == "Pending":
            raise Abort(
                "Failed",
                "TIMEOUT",
                f"The {event} lifecycle event hook timed out: Lambda function {function} did not report a status "
                f"within {HOOK_TIMEOUT_MINUTES} minutes",
                "DEPLOYMENT_FAILURE",
                {
                    "errorCode": "ScriptTimedOut",
                    "scriptName": function,
                    "message": "The hook did not report a status in time",
                    "logTail": "",
                },
            )
        raise Abort(
            "Failed",
            "HOOK_EXECUTION_FAILURE",
            f"The deployment failed because the {event} lifecycle event hook ({function}) reported Failed.",
            "DEPLOYMENT_FAILURE",
            {
                "errorCode": "ScriptFailed",
                "scriptName": function,
                "message": f"Lambda function {function} reported Failed",
                "logTail": "",
            },
        )

    def run_deployment(self, deployment_id: str) -> None:
        body = self.plan(deployment_id)
        appspec = yaml.safe_load(body["revision"]["appSpecContent"]["content"])
        hooks = {name: function for hook in appspec.get("Hooks") or [] for name, function in hook.items()}
        properties = appspec["Resources"][0]["TargetService"]["Properties"]
        group = self._group(body)
        config = self._config(body["deploymentConfigName"])

        for name in EVENTS:
            body = self.get(deployment_id)
            engine = body["_engine"]
            if engine["events"][name]["status"] in ("Succeeded", "Skipped"):
                continue
            self.wait(deployment_id, 0)
            if name in HOOK_EVENTS:
                if name == "BeforeAllowTraffic":
                    self.ready_wait(deployment_id, group)
                self.run_hook(deployment_id, name, hooks.get(name))
            elif name == "Install":
                self.install(deployment_id, properties)
            elif name == "AllowTestTraffic":
                self.event(deployment_id, name, "InProgress")
                for listener in engine["test_listeners"]:
                    self.route(listener, engine["blue"]["arn"], engine["green"]["arn"], 100)
                self.event(deployment_id, name, "Succeeded" if engine["test_listeners"] else "Skipped")
            elif name == "AllowTraffic":
                self.allow_traffic(deployment_id, config)

        self.terminate_original(deployment_id, group)
        self.finish(deployment_id, "Succeeded")

    def _config(self, name: str) -> dict:
        # CreateDeployment refuses an unknown config and DeleteDeploymentConfig one in use: a config missing
        # here is a sandbox defect, and the deployment fails rather than shift traffic all at once.
        config = PREDEFINED_CONFIGS.get(name) or self.store.get("config", name)
        if config is None:
            raise Abort("Failed", "INTERNAL_ERROR", f"deployment config {name} does not exist", "DEPLOYMENT_FAILURE")
        return config

    def install(self, deployment_id: str, properties: dict) -> None:
        self.event(deployment_id, "Install", "InProgress")
        body = self.get(deployment_id)
        engine = body["_engine"]
        target = engine["target"]
        service = self._service(target["cluster"], target["service"])
        existing = next((ts for ts in service.get("taskSets", []) if ts.get("externalId") == deployment_id), None)
        if existing is None:
            balancer = properties["LoadBalancerInfo"]
            request = {
                "cluster": target["cluster"],
                "service": target["service"],
                "externalId": deployment_id,
                "taskDefinition": properties["TaskDefinition"],
                "loadBalancers": [
                    {
                        "targetGroupArn": engine["green"]["arn"],
                        "containerName": balancer["ContainerName"],
                        "containerPort": int(balancer["ContainerPort"]),
                    }
                ],
                "scale": {"value": 100.0, "unit": "PERCENT"},
            }
            network = (properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration")
            if network:
                request["networkConfiguration"] = {
                    "awsvpcConfiguration": {
                        "subnets": network.get("Subnets", []),
                        "securityGroups": network.get("SecurityGroups", []),
                        "assignPublicIp": network.get("AssignPublicIp", "DISABLED"),
                    }
                }
            elif service.get("networkConfiguration"):
                request["networkConfiguration"] = service["networkConfiguration"]
            if properties.get("CapacityProviderStrategy"):
                request["capacityProviderStrategy"] = [
                    {
                        "capacityProvider": s["CapacityProvider"],
                        "weight": int(s.get("Weight", 1)),
                        "base": int(s.get("Base", 0)),
                    }
                    for s in properties["CapacityProviderStrategy"]
                ]
            elif service.get("launchType"):
                request["launchType"] = service["launchType"]
            if properties.get("PlatformVersion") and "launchType" in request:
                request["platformVersion"] = properties["PlatformVersion"]
            try:
                existing = self.ecs.create_task_set(**request)["taskSet"]
            except botocore.exceptions.ClientError as e:
                raise Abort(
                    "Failed",
                    "ECS_UPDATE_ERROR",
                    f"Could not create the replacement task set: {e}",
                    "DEPLOYMENT_FAILURE",
                ) from None
        green = {
            "id": existing["id"],
            "arn": existing["taskSetArn"],
            "targetGroup": engine["green"]["name"],
            "desiredCount": existing.get("computedDesiredCount", 0),
            "status": existing.get("status", "ACTIVE"),
        }
        self.update(deployment_id, lambda d: d["_engine"]["task_sets"].update(Green=green))

        def running():
            current = self._service(target["cluster"], target["service"])
            for ts in current.get("taskSets", []):
                if ts["id"] == green["id"]:
                    return ts.get("runningCount", 0) >= ts.get("computedDesiredCount", 1) > 0
            return False

        self.wait(deployment_id, self.scaled(INSTALL_TIMEOUT_MINUTES), done=running)
        if not running():
            raise Abort(
                "Failed",
                "ECS_UPDATE_ERROR",
                f"The replacement task set {green['id']} did not reach its desired count "
                f"in {INSTALL_TIMEOUT_MINUTES} minutes" + self._stopped_tasks(target, green["id"]),
                "DEPLOYMENT_FAILURE",
            )
        self.event(deployment_id, "Install", "Succeeded")

    def _stopped_tasks(self, target: dict, task_set_id: str) -> str:
        """Why the task set's tasks stopped, as ECS reports it (stoppedReason, exit code), for the message."""
        try:
            arns = self.ecs.list_tasks(cluster=target["cluster"], startedBy=task_set_id, desiredStatus="STOPPED").get(
                "taskArns", []
            )
            tasks = self.ecs.describe_tasks(cluster=target["cluster"], tasks=arns[:100])["tasks"] if arns else []
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            return f" (its stopped tasks could not be read: {e})"
        reasons: dict[str, int] = {}
        for task in tasks:
            codes = [c.get("exitCode") for c in task.get("containers", []) if c.get("exitCode") is not None]
            reason = task.get("stoppedReason") or "stopped"
            if codes:
                reason += f" (exit code {codes[0]})"
            reasons[reason] = reasons.get(reason, 0) + 1
        if not reasons:
            return ": no task of it stopped (still starting)"
        listed = "; ".join(f"{count} x {reason}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1]))
        return f": {len(tasks)} of its tasks stopped: {listed}"

    def ready_wait(self, deployment_id: str, group: dict) -> None:
        ready = group["blueGreenDeploymentConfiguration"].get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") != "STOP_DEPLOYMENT":
            return
        body = self.get(deployment_id)
        if "READY_WAIT" in body["_engine"].get("continue", []):
            return
        if body["status"] != "Ready":
            self.update(
                deployment_id, lambda d: d.update(status="Ready") or d["_engine"].setdefault("ready_since", now())
            )
            log.info("%s Ready: waiting for ContinueDeployment", deployment_id)
        since = self.get(deployment_id)["_engine"]["ready_since"]
        remaining = self.scaled(ready.get("waitTimeInMinutes", 0)) - (time.time() - since)
        self.wait(deployment_id, max(0.0, remaining), wait_type="READY_WAIT")
        if "READY_WAIT" not in self.get(deployment_id)["_engine"].get("continue", []):
            raise Abort(
                "Stopped",
                "TIMEOUT",
                f"Traffic rerouting was not started within {ready.get('waitTimeInMinutes', 0)} minutes "
                "(ContinueDeployment)",
                "DEPLOYMENT_FAILURE",
            )
        self.update(deployment_id, lambda d: d.update(status="InProgress"))

    def allow_traffic(self, deployment_id: str, config: dict) -> None:
        self.event(deployment_id, "AllowTraffic", "InProgress")
        for percent, minutes in traffic_steps(config):
            body = self.get(deployment_id)
            engine = body["_engine"]
            if engine.get("green_weight", 0) >= percent:
                continue  # done before a restart
            for listener in engine["prod_listeners"]:
                self.route(listener, engine["blue"]["arn"], engine["green"]["arn"], percent)
            self.update(deployment_id, lambda d, p=percent: d["_engine"].update(green_weight=p, step_started=now()))
            log.info("%s AllowTraffic: replacement at %s%%", deployment_id, percent)
            if minutes:
                started = self.get(deployment_id)["_engine"]["step_started"]
                self.wait(deployment_id, max(0.0, self.scaled(minutes) - (time.time() - started)))
        engine = self.get(deployment_id)["_engine"]
        target, green = engine["target"], engine["task_sets"]["Green"]
        self.ecs.update_service_primary_task_set(
            cluster=target["cluster"], service=target["service"], primaryTaskSet=green["arn"]
        )
        self.event(deployment_id, "AllowTraffic", "Succeeded")

    def terminate_original(self, deployment_id: str, group: dict) -> None:
        termination = group["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"]
        engine = self.get(deployment_id)["_engine"]
        blue = engine["task_sets"].get("Blue")
        if blue is None or termination.get("action") == "KEEP_ALIVE":
            return
        if "terminate_since" not in engine:
            self.update(
                deployment_id,
                lambda d: (
                    d.update(instanceTerminationWaitTimeStarted=True)
                    or d["_engine"].update(terminating=True, terminate_since=now())
                ),
            )
            engine = self.get(deployment_id)["_engine"]
        remaining = self.scaled(termination.get("terminationWaitTimeInMinutes", 0)) - (
            time.time() - engine["terminate_since"]
        )
        self.wait(deployment_id, max(0.0, remaining), wait_type="TERMINATION_WAIT")
        target = engine["target"]
        self._delete_task_set(target, blue["id"])

    def _delete_task_set(self, target: dict, task_set_id: str) -> None:
        try:
            self.ecs.delete_task_set(
                cluster=target["cluster"], service=target["service"], taskSet=task_set_id, force=True
            )
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in ("TaskSetNotFoundException", "InvalidParameterException"):
                raise
            log.info("task set %s already gone: %s", task_set_id, e)

    # --- endings ----------------------------------------------------------------------------------------

    def finish(self, deployment_id: str, status: str, error: dict | None = None) -> None:
        live = self._live_task_sets(self.get(deployment_id))

        def change(d):
            # The target's task set info as it was at the end (afterwards it is read from here).
            for task_set in d["_engine"].get("task_sets", {}).values():
                current = live.get(task_set["id"])
                task_set.update(
                    desiredCount=current.get("computedDesiredCount", 0) if current else 0,
                    runningCount=current.get("runningCount", 0) if current else 0,
                    status=current.get("status", "ACTIVE") if current else "DRAINING",
                )
            d["status"] = status
            d["completeTime"] = now()
            d["_engine"].pop("terminating", None)
            if error:
                d["errorInformation"] = error
            for event in d["_engine"]["events"].values():
                if event["status"] in ("Pending", "InProgress"):
                    event["status"] = "Skipped"

        self.update(deployment_id, change)
        log.info("%s %s", deployment_id, status)

    def _live_task_sets(self, body: dict) -> dict:
        target = body["_engine"].get("target")
        if not target:
            return {}
        try:
            return {ts["id"]: ts for ts in self._service(target["cluster"], target["service"]).get("taskSets", [])}
        except (Abort, botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            return {}

    def finish_failed(self, deployment_id: str, abort: Abort) -> None:
        log.info("%s ending %s: %s", deployment_id, abort.status, abort.message)
        body = self.get(deployment_id)
        for name in EVENTS:
            if body["_engine"]["events"][name]["status"] == "InProgress":
                self.event(
                    deployment_id,
                    name,
                    "Failed",
                    abort.diagnostics
                    or {"errorCode": "UnknownError", "scriptName": "", "message": abort.message, "logTail": ""},
                )
                break
        rollback = body.get("autoRollbackConfiguration") or {}
        rollback_id = None
        if (
            not body["_engine"].get("rollback_of")
            and abort.rollback_event
            and rollback.get("enabled")
            and (abort.rollback_event in rollback.get("events", []) or body["_engine"].get("stop", {}).get("rollback"))
            and "green" in body["_engine"]
        ):
            rollback_id = self.start_rollback(deployment_id)
        self.finish(deployment_id, abort.status, {"code": abort.code, "message": abort.message})
        if rollback_id:
            self.start(rollback_id)

    def start_rollback(self, deployment_id: str) -> str:
        body = self.get(deployment_id)
        group = self._group(body)
        previous = body.get("previousRevision") or self._original_revision(body)
        with self.store.transaction():
            rollback = self.new_deployment(
                group,
                {"revision": previous, "autoRollbackConfiguration": {"enabled": False, "events": []}},
                body["deploymentConfigName"],
                creator="codeDeployRollback",
                rollback_of=body,
            )
            rollback["_engine"].update(
                {
                    k: body["_engine"][k]
                    for k in ("target", "blue", "green", "prod_listeners", "test_listeners", "task_sets")
                }
            )
            rollback["_engine"]["green_weight"] = 100 - body["_engine"].get("green_weight", 0)
            self.store.put(
                "deployment",
                rollback["deploymentId"],
                rollback,
                parent=f"{body['applicationName']}/{body['deploymentGroupName']}",
            )
            current = self.store.get("deployment", deployment_id)
            current["rollbackInfo"] = {
                "rollbackDeploymentId": rollback["deploymentId"],
                "rollbackMessage": (
                    f"Deployment {deployment_id} will be rolled back by deployment {rollback['deploymentId']}"
                ),
            }
            self.store.put(
                "deployment", deployment_id, current, parent=f"{body['applicationName']}/{body['deploymentGroupName']}"
            )
        log.info("%s rolling back with %s", deployment_id, rollback["deploymentId"])
        return rollback["deploymentId"]

    def _original_revision(self, body: dict) -> dict:
        """With no earlier successful deployment, the revision a rollback restores is the failed AppSpec
        pointed at the original task set's task definition."""
        appspec = yaml.safe_load(body["revision"]["appSpecContent"]["content"])
        blue = body["_engine"].get("task_sets", {}).get("Blue") or {}
        if blue.get("taskDefinition"):
            appspec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] = blue["taskDefinition"]
        content = json.dumps(appspec)
        return {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        }

    def run_rollback(self, deployment_id: str) -> None:
        """Both listeners back on the original target group, the original task set primary, the replacement
        deleted. For the rollback deployment, the original is Green (it receives the traffic) and the failed
        replacement Blue, so its task set info reads as AWS's does."""
        body = self.get(deployment_id)
        engine = body["_engine"]
        original, replacement = engine["blue"], engine["green"]
        target = engine["target"]
        if "swapped" not in engine:
            failed_sets = engine["task_sets"]
            self.update(
                deployment_id,
                lambda d: d["_engine"].update(
                    swapped=True,
                    task_sets={
                        k: v
                        for k, v in {"Blue": failed_sets.get("Green"), "Green": failed_sets.get("Blue")}.items()
                        if v
                    },
                ),
            )
        for name in EVENTS:
            if name not in ("Install", "AllowTestTraffic", "AllowTraffic"):
                self.event(deployment_id, name, "Skipped")
        self.event(deployment_id, "Install", "Succeeded")
        self.event(deployment_id, "AllowTestTraffic", "InProgress")
        for listener in engine["test_listeners"]:
            self.route(listener, replacement["arn"], original["arn"], 100)
        self.event(deployment_id, "AllowTestTraffic", "Succeeded")
        self.event(deployment_id, "AllowTraffic", "InProgress")
        for listener in engine["prod_listeners"]:
            self.route(listener, replacement["arn"], original["arn"], 100)
        self.update(deployment_id, lambda d: d["_engine"].update(green_weight=100))
        task_sets = self.get(deployment_id)["_engine"]["task_sets"]
        if task_sets.get("Green"):
            self.ecs.update_service_primary_task_set(
                cluster=target["cluster"], service=target["service"], primaryTaskSet=task_sets["Green"]["arn"]
            )
        self.event(deployment_id, "AllowTraffic", "Succeeded")
        if task_sets.get("Blue"):
            self._delete_task_set(target, task_sets["Blue"]["id"])
        self.finish(deployment_id, "Succeeded")

        def note(d):
            d.setdefault("rollbackInfo", {})["rollbackMessage"] = (
                f"Deployment {deployment_id} rolled back deployment {engine['rollback_of']}: "
                "traffic is on the original task set"
            )

        self.update(deployment_id, note)


def without_content(revision: dict) -> dict:
    """A revision as GetDeployment returns it: AppSpecContent keeps its sha256, never its content (botocore
    drops the null member, so clients see no `content` key at all)."""
    if (revision or {}).get("revisionType") != "AppSpecContent":
        return revision
    kept = {k: v for k, v in (revision.get("appSpecContent") or {}).items() if k != "content" and v is not None}
    return {**revision, "appSpecContent": kept}


def _target_status(status: str) -> str:
    return {
        "Created": "Pending",
        "Queued": "Pending",
        "InProgress": "InProgress",
        "Baking": "InProgress",
        "Ready": "Ready",
        "Succeeded": "Succeeded",
        "Failed": "Failed",
        "Stopped": "Failed",
    }[status]


def _deployment_id() -> str:
    return "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))

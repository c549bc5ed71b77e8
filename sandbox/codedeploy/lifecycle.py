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
import time

import yaml

from sandbox.codedeploy.effects import Abort, Aws, failed
from sandbox.codedeploy.model import EVENTS, HOOK_EVENTS, PREDEFINED_CONFIGS, now, traffic_steps
from sandbox.codedeploy.state import Deployments, group_key, new_deployment
from sandbox.codedeploy.store import Store

log = logging.getLogger("sandbox.codedeploy.lifecycle")

HOOK_TIMEOUT_MINUTES = 60
# How long Install waits for the replacement task set's tasks: AWS documents no figure (ledger: assumed).
INSTALL_TIMEOUT_MINUTES = 10
TICK = 0.2


def _at_weight(percent: int):
    """The change that records the replacement's share of production traffic and when it began."""

    def change(d: dict) -> None:
        d["_engine"].update(green_weight=percent, step_started=now())

    return change


class Lifecycle:
    """One deployment from InProgress to its end, step by step; each step recorded before and after it runs."""

    def __init__(self, deployments: Deployments, aws: Aws, store: Store, cfg):
        # The store only to read the API's resources (groups, configs): deployments change through
        # `deployments`, the other services through `aws`.
        self.deployments, self.aws, self.store, self.cfg = deployments, aws, store, cfg

    def scaled(self, minutes: float) -> float:
        return minutes * 60 * self.cfg.time_scale

    def run(self, deployment_id: str) -> str | None:
        """Run (or resume) a deployment to its end; returns the rollback deployment to run next, if any."""
        try:
            body = self.deployments.get(deployment_id)
            if body["status"] == "Created":
                body = self.deployments.update(deployment_id, lambda d: d.update(status="InProgress", startTime=now()))
            if body["_engine"].get("rollback_of"):
                self.run_rollback(deployment_id)
            else:
                self.run_deployment(deployment_id)
        except Abort as abort:
            return self.finish_failed(deployment_id, abort)
        except Exception as e:  # the deployment must end, whatever went wrong
            log.exception("%s: engine error", deployment_id)
            return self.finish_failed(deployment_id, failed("INTERNAL_ERROR", f"{type(e).__name__}: {e}"))
        return None

    def _group(self, body: dict) -> dict:
        group = self.store.get("group", f"{body['applicationName']}/{body['deploymentGroupName']}")
        if group is None:
            raise failed("DEPLOYMENT_GROUP_MISSING", "The deployment group was deleted")
        return group

    def plan(self, deployment_id: str) -> dict:
        """Decide once which target group and task set are the original (blue); recorded for resuming."""
        body = self.deployments.get(deployment_id)
        if "target" in body["_engine"]:
            return body
        group = self._group(body)
        ecs_service = group["ecsServices"][0]
        service = self.aws.service(ecs_service["clusterName"], ecs_service["serviceName"])
        pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        arns = self.aws.target_group_arns([tg["name"] for tg in pair["targetGroups"]])
        prod = pair["prodTrafficRoute"]["listenerArns"][0]
        weights = self.aws.forward_weights(prod)
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

        return self.deployments.update(deployment_id, record)

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

        self.deployments.update(deployment_id, change)
        log.info("%s %s %s", deployment_id, name, status)

    def wait(self, deployment_id: str, seconds: float | None, done=None, wait_type: str | None = None) -> None:
        """Sleep until `done()` is true, `seconds` pass, or ContinueDeployment(wait_type); raise Abort on a stop
        request or an alarm. The group's alarms are polled every second, as long as the deployment runs."""
        deadline = None if seconds is None else time.monotonic() + seconds
        next_alarm_check = 0.0
        while True:
            body = self.deployments.get(deployment_id)
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
                self.aws.check_alarms(self._group(body).get("alarmConfiguration") or {})
                next_alarm_check = time.monotonic() + 1.0
            if wait_type and wait_type in engine.get("continue", []):
                return
            if done is not None and done():
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(TICK)

    def run_hook(self, deployment_id: str, event: str, function: str | None) -> None:
        body = self.deployments.get(deployment_id)
        if function is None:
            self.event(deployment_id, event, "Succeeded")
            return
        execution_id = body["_engine"]["hooks"].get(event)
        if execution_id is None or self.deployments.hook(execution_id) is None:
            execution_id = self.deployments.start_hook(deployment_id, event, function)
            self.event(deployment_id, event, "InProgress")
            self.aws.invoke_hook(event, function, deployment_id, execution_id)
            log.info("%s %s: invoked %s (%s)", deployment_id, event, function, execution_id)

        def reported():
            return (self.deployments.hook(execution_id) or {}).get("status") != "Pending"

        self.wait(deployment_id, self.scaled(HOOK_TIMEOUT_MINUTES), done=reported)
        status = (self.deployments.hook(execution_id) or {}).get("status")
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
            body = self.deployments.get(deployment_id)
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
                    self.aws.route(listener, engine["blue"]["arn"], engine["green"]["arn"], 100)
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
        body = self.deployments.get(deployment_id)
        engine = body["_engine"]
        target = engine["target"]
        service = self.aws.service(target["cluster"], target["service"])
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
            existing = self.aws.create_task_set(request)
        green = {
            "id": existing["id"],
            "arn": existing["taskSetArn"],
            "targetGroup": engine["green"]["name"],
            "desiredCount": existing.get("computedDesiredCount", 0),
            "status": existing.get("status", "ACTIVE"),
        }
        self.deployments.update(deployment_id, lambda d: d["_engine"]["task_sets"].update(Green=green))

        def running():
            current = self.aws.service(target["cluster"], target["service"])
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
                f"in {INSTALL_TIMEOUT_MINUTES} minutes",
                "DEPLOYMENT_FAILURE",
            )
        self.event(deployment_id, "Install", "Succeeded")

    def ready_wait(self, deployment_id: str, group: dict) -> None:
        ready = group["blueGreenDeploymentConfiguration"].get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") != "STOP_DEPLOYMENT":
            return
        body = self.deployments.get(deployment_id)
        if "READY_WAIT" in body["_engine"].get("continue", []):
            return
        if body["status"] != "Ready":
            self.deployments.update(
                deployment_id, lambda d: d.update(status="Ready") or d["_engine"].setdefault("ready_since", now())
            )
            log.info("%s Ready: waiting for ContinueDeployment", deployment_id)
        since = self.deployments.get(deployment_id)["_engine"]["ready_since"]
        remaining = self.scaled(ready.get("waitTimeInMinutes", 0)) - (time.time() - since)
        self.wait(deployment_id, max(0.0, remaining), wait_type="READY_WAIT")
        if "READY_WAIT" not in self.deployments.get(deployment_id)["_engine"].get("continue", []):
            raise Abort(
                "Stopped",
                "TIMEOUT",
                f"Traffic rerouting was not started within {ready.get('waitTimeInMinutes', 0)} minutes "
                "(ContinueDeployment)",
                "DEPLOYMENT_FAILURE",
            )
        self.deployments.update(deployment_id, lambda d: d.update(status="InProgress"))

    def allow_traffic(self, deployment_id: str, config: dict) -> None:
        self.event(deployment_id, "AllowTraffic", "InProgress")
        for percent, minutes in traffic_steps(config):
            body = self.deployments.get(deployment_id)
            engine = body["_engine"]
            if engine.get("green_weight", 0) >= percent:
                continue  # done before a restart
            for listener in engine["prod_listeners"]:
                self.aws.route(listener, engine["blue"]["arn"], engine["green"]["arn"], percent)
            self.deployments.update(deployment_id, _at_weight(percent))
            log.info("%s AllowTraffic: replacement at %s%%", deployment_id, percent)
            if minutes:
                started = self.deployments.get(deployment_id)["_engine"]["step_started"]
                self.wait(deployment_id, max(0.0, self.scaled(minutes) - (time.time() - started)))
        engine = self.deployments.get(deployment_id)["_engine"]
        target, green = engine["target"], engine["task_sets"]["Green"]
        self.aws.make_primary(target, green["arn"])
        self.event(deployment_id, "AllowTraffic", "Succeeded")

    def terminate_original(self, deployment_id: str, group: dict) -> None:
        termination = group["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"]
        engine = self.deployments.get(deployment_id)["_engine"]
        blue = engine["task_sets"].get("Blue")
        if blue is None or termination.get("action") == "KEEP_ALIVE":
            return
        if "terminate_since" not in engine:
            self.deployments.update(
                deployment_id,
                lambda d: (
                    d.update(instanceTerminationWaitTimeStarted=True)
                    or d["_engine"].update(terminating=True, terminate_since=now())
                ),
            )
            engine = self.deployments.get(deployment_id)["_engine"]
        remaining = self.scaled(termination.get("terminationWaitTimeInMinutes", 0)) - (
            time.time() - engine["terminate_since"]
        )
        self.wait(deployment_id, max(0.0, remaining), wait_type="TERMINATION_WAIT")
        target = engine["target"]
        self.aws.delete_task_set(target, blue["id"])

    def finish(self, deployment_id: str, status: str, error: dict | None = None) -> None:
        live = self.aws.live_task_sets(self.deployments.get(deployment_id)["_engine"].get("target"))

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

        self.deployments.update(deployment_id, change)
        log.info("%s %s", deployment_id, status)

    def finish_failed(self, deployment_id: str, abort: Abort) -> str | None:
        """End the deployment Failed or Stopped; returns the rollback deployment to run, if it rolls back."""
        log.info("%s ending %s: %s", deployment_id, abort.status, abort.message)
        body = self.deployments.get(deployment_id)
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
        return rollback_id

    def start_rollback(self, deployment_id: str) -> str:
        body = self.deployments.get(deployment_id)
        group = self._group(body)
        previous = body.get("previousRevision") or self._original_revision(body)
        rollback = new_deployment(
            group,
            {"revision": previous, "autoRollbackConfiguration": {"enabled": False, "events": []}},
            body["deploymentConfigName"],
            creator="codeDeployRollback",
            previous=self.deployments.last_successful(group_key(body)),
            rollback_of=body,
        )
        rollback["_engine"].update(
            {
                k: body["_engine"][k]
                for k in ("target", "blue", "green", "prod_listeners", "test_listeners", "task_sets")
            }
        )
        rollback["_engine"]["green_weight"] = 100 - body["_engine"].get("green_weight", 0)
        self.deployments.create_rollback(deployment_id, rollback)
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
        body = self.deployments.get(deployment_id)
        engine = body["_engine"]
        original, replacement = engine["blue"], engine["green"]
        target = engine["target"]
        if "swapped" not in engine:
            failed_sets = engine["task_sets"]
            self.deployments.update(
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
            self.aws.route(listener, replacement["arn"], original["arn"], 100)
        self.event(deployment_id, "AllowTestTraffic", "Succeeded")
        self.event(deployment_id, "AllowTraffic", "InProgress")
        for listener in engine["prod_listeners"]:
            self.aws.route(listener, replacement["arn"], original["arn"], 100)
        self.deployments.update(deployment_id, lambda d: d["_engine"].update(green_weight=100))
        task_sets = self.deployments.get(deployment_id)["_engine"]["task_sets"]
        if task_sets.get("Green"):
            self.aws.make_primary(target, task_sets["Green"]["arn"])
        self.event(deployment_id, "AllowTraffic", "Succeeded")
        if task_sets.get("Blue"):
            self.aws.delete_task_set(target, task_sets["Blue"]["id"])
        self.finish(deployment_id, "Succeeded")

        def note(d):
            d.setdefault("rollbackInfo", {})["rollbackMessage"] = (
                f"Deployment {deployment_id} rolled back deployment {engine['rollback_of']}: "
                "traffic is on the original task set"
            )

        self.deployments.update(deployment_id, note)

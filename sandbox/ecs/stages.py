"""A service deployment's lifecycle stages as ECS runs them: the stage's lifecycle hooks (Lambda functions invoked as
the hook's role, PAUSE hooks waiting for ContinueServiceDeployment), and what ends a deployment between its steps (a
request to stop it, a newer deployment, an alarm in ALARM)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

import botocore.exceptions

from sandbox.ecs.revisions import ServiceRevisions, now
from sandbox.ecs.strategies import DEFAULT_CALLBACK_DELAY_SECONDS

log = logging.getLogger("sandbox.ecs.deployments")


class Rollback(Exception):
    """Ends a deployment in a rollback: why."""


class Stopped(Exception):
    """A newer deployment of the service started: this one ends where it is."""


class Stages(ServiceRevisions):
    """Stages, hooks and checkpoints of the deployments ServiceRevisions records."""

    def _set_stage(self, deployment: dict, stage: str) -> None:
        self._check(deployment)
        with self.lock:
            deployment["lifecycleStage"] = stage
            deployment["lifecycleHookDetails"] = []
            deployment["_updated"] = now()
        log.info("service deployment %s: %s", deployment["serviceDeploymentArn"][-12:], stage)

    def _stage(self, deployment: dict, stage: str) -> None:
        self._set_stage(deployment, stage)
        self._hooks(deployment, stage)

    def _hooks(self, deployment: dict, stage: str, step: int | None = None, rolling_back: bool = False) -> None:
        """Run the stage's hooks at the same time and wait for all of them; a failed or timed out one (timeout
        action ROLLBACK) rolls the deployment back (during a rollback, nothing more happens)."""
        hooks = [
            (index, hook)
            for index, hook in enumerate(deployment["deploymentConfiguration"].get("lifecycleHooks") or [])
            if stage in (hook.get("lifecycleStages") or [])
        ]
        if not hooks:
            return
        suffix = (f"-{step}" if step is not None else "") + ("-rollback" if rolling_back else "")
        details = [self._hook_detail(deployment, stage, index, hook, suffix) for index, hook in hooks]
        with self.lock:
            deployment["lifecycleHookDetails"] = details
        for (_index, hook), detail in zip(hooks, details, strict=True):
            if detail["targetType"] == "AWS_LAMBDA":
                threading.Thread(target=self._lambda_hook, args=(deployment, stage, hook, detail), daemon=True).start()
        while True:
            if not rolling_back:
                self._check(deployment)
            with self.lock:
                moment = time.time()
                for detail in details:
                    if (
                        detail["status"] in ("AWAITING_ACTION", "IN_PROGRESS")
                        and moment >= detail["expiresAt"].timestamp()
                    ):
                        detail["status"] = "TIMED_OUT"
                statuses = [d["status"] for d in details]
            for detail in details:
                stopping = detail["status"] == "FAILED" or (
                    detail["status"] == "TIMED_OUT" and detail["timeoutAction"] == "ROLLBACK"
                )
                if stopping and not rolling_back:
                    what = detail.get("targetArn", "").rsplit(":", 1)[-1] or detail["targetType"]
                    raise Rollback(f"Lifecycle hook {what} {detail['status']} at {stage}")
            if all(status in ("SUCCEEDED", "FAILED", "TIMED_OUT") for status in statuses):
                return
            time.sleep(0.2)

    def _hook_detail(self, deployment: dict, stage: str, index: int, hook: dict, suffix: str) -> dict:
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = float(timeout.get("timeoutInMinutes", 1440))
        detail = {
            "hookId": f"{deployment['serviceDeploymentArn'].rsplit('/', 1)[-1]}-{stage.lower()}-{index}{suffix}",
            "targetType": hook.get("targetType", "AWS_LAMBDA"),
            "status": "AWAITING_ACTION" if hook.get("targetType") == "PAUSE" else "IN_PROGRESS",
            "timeoutAction": timeout.get("action", "ROLLBACK"),
            "expiresAt": datetime.fromtimestamp(time.time() + minutes * 60 * self.cfg.time_scale, UTC),
        }
        if hook.get("hookTargetArn"):
            detail["targetArn"] = hook["hookTargetArn"]
        return detail

    def _lambda_hook(self, deployment: dict, stage: str, hook: dict, detail: dict) -> None:
        event = {
            "executionId": f"{detail['hookId']}-{int(time.time() * 1000)}",
            "lifecycleStage": stage,
            "resourceArn": deployment["serviceDeploymentArn"],
            "executionDetails": {
                "serviceArn": deployment["serviceArn"],
                "targetServiceRevisionArn": deployment["targetServiceRevision"]["arn"],
                "testTrafficWeights": self._weights_map(deployment, "_test_weight"),
                "productionTrafficWeights": self._weights_map(deployment, "_production_weight"),
            },
        }
        if hook.get("hookDetails") is not None:
            event["hookDetails"] = hook["hookDetails"]
        status = "FAILED"
        try:
            client = self._client("lambda", hook["roleArn"])
            while True:
                answer = client.invoke(FunctionName=hook["hookTargetArn"], Payload=json.dumps(event).encode())
                payload = answer["Payload"].read().decode() or "null"
                parsed = json.loads(payload) if not answer.get("FunctionError") else None
                result: dict = parsed if isinstance(parsed, dict) else {}
                hook_status = result.get("hookStatus")
                if hook_status == "IN_PROGRESS" and detail["status"] == "IN_PROGRESS":
                    delay = float(result.get("callBackDelay") or DEFAULT_CALLBACK_DELAY_SECONDS)
                    if "hookDetails" in result:
                        event["hookDetails"] = result["hookDetails"]
                    time.sleep(max(0.5, delay * self.cfg.time_scale))
                    if deployment["status"] not in ("IN_PROGRESS", "ROLLBACK_IN_PROGRESS"):
                        return
                    continue
                status = hook_status if hook_status in ("SUCCEEDED", "FAILED") else "FAILED"
                if hook_status not in ("SUCCEEDED", "FAILED"):
                    log.info("hook %s answered no valid hookStatus: %s", hook["hookTargetArn"], payload[:300])
                break
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ValueError) as e:
            log.info("hook %s could not be invoked: %s", hook.get("hookTargetArn"), e)
        with self.lock:
            if detail["status"] == "IN_PROGRESS":
                detail["status"] = status

    def _weights_map(self, deployment: dict, key: str) -> dict:
        target = deployment["targetServiceRevision"]["arn"]
        source = deployment["sourceServiceRevisions"][0]["arn"] if deployment["sourceServiceRevisions"] else None
        weight = float(deployment.get(key, 0.0))
        weights = {target: weight}
        if source:
            weights[source] = 100.0 - weight
        return weights

    def _check(self, deployment: dict) -> None:
        """Between steps: a request to stop or continue, a superseding deployment, an alarm in ALARM."""
        with self.lock:
            requests, deployment["_requests"] = deployment["_requests"], []
        for request in requests:
            if request[0] == "stop":
                raise Rollback("Service deployment rolled back by StopServiceDeployment")
            if request[0] == "continue":
                _kind, hook_id, action = request
                with self.lock:
                    for detail in deployment.get("lifecycleHookDetails", []):
                        if detail["hookId"] == hook_id:
                            detail["status"] = "SUCCEEDED"
                if action == "ROLLBACK":
                    raise Rollback("Service deployment rolled back by ContinueServiceDeployment (ROLLBACK)")
        if deployment.get("_superseded"):
            raise Stopped("Service deployment stopped: a newer service deployment started")
        alarms = deployment.get("alarms") or {}
        if alarms.get("status") == "MONITORING" and not deployment.get("_baked"):
            firing = self._alarms_in_alarm(alarms.get("alarmNames") or [])
            if firing:
                with self.lock:
                    alarms.update(status="TRIGGERED", triggeredAlarmNames=firing)
                raise Rollback(f"CloudWatch alarm(s) {', '.join(firing)} in ALARM")

    def _alarm_monitor(self, config: dict) -> dict:
        alarms = config.get("alarms") or {}
        if alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames"):
            return {"status": "MONITORING", "alarmNames": list(alarms["alarmNames"]), "triggeredAlarmNames": []}
        return {"status": "DISABLED", "alarmNames": list(alarms.get("alarmNames") or []), "triggeredAlarmNames": []}

    def _alarms_in_alarm(self, names: list[str]) -> list[str]:
        alarms = self.plane.backend("cloudwatch").alarms
        return sorted(n for n in names if n in alarms and alarms[n].state_value == "ALARM")

    def _sleep(self, deployment: dict, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._check(deployment)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.2, left))

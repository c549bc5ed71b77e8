"""ECS-native blue/green in the sandbox: `deploymentController: ECS` with strategy BLUE_GREEN, LINEAR or CANARY.

moto stores none of it (it drops `deploymentConfiguration` and has no service deployments): this is the sandbox's
ECS for such services, following the ECS API reference and developer guide ("Amazon ECS blue/green deployments",
"Lifecycle hooks for Amazon ECS service deployments"; module_utils/bluegreen_ecs.py names the stages):

- A service revision is recorded at CreateService and at each UpdateService that changes the task definition (or
  forces a new deployment); each runs as a task group the agent keeps at the service's desired count (as it runs
  a task set), its tasks startedBy the group's `ecs-svc/<id>` and registered in the revision's target group.
- A service deployment moves a new revision through RECONCILE_SERVICE (when another deployment was in progress),
  PRE_SCALE_UP, SCALE_UP (its tasks run in the target group production does not use: the alternate of the pair),
  POST_SCALE_UP, TEST_TRAFFIC_SHIFT (the test listener rule forwards to it), POST_TEST_TRAFFIC_SHIFT, then per
  traffic step PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (the production listener rule's weights;
  LINEAR and CANARY wait their step bake time between steps), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME
  (bakeTimeInMinutes), CLEAN_UP (the previous revision's tasks stop), SUCCESSFUL.
- Lambda hooks are invoked, as the hook's role (assumed by ecs.amazonaws.com), with the event hooks/ecs_event.py
  reads; IN_PROGRESS invokes again after callBackDelay (default 30 s) with the returned hookDetails; FAILED, an
  error, an invalid answer or the hook's timeout (timeoutConfiguration, default 1440 minutes, action ROLLBACK)
  rolls back. PAUSE hooks wait for ContinueServiceDeployment. Hooks of one stage run at the same time.
- Listener rules are modified as the load balancer's role (advancedConfiguration.roleArn, assumed by
  ecs.amazonaws.com), through the ELB API: its permissions are enforced.
- The deployment's alarms (deploymentConfiguration.alarms, rollback true) roll it back when one is in ALARM, from
  the start until the bake time ends. The deployment circuit breaker is for rolling updates only: not used here.
- A rollback (FAILED hook, alarm, StopServiceDeployment ROLLBACK, ContinueServiceDeployment ROLLBACK) runs the
  hooks at TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT again, returns both rules to the previous revision,
  stops the new revision's tasks: ROLLBACK_SUCCESSFUL (ROLLBACK_FAILED if that fails).

Minutes and callBackDelay are on the sandbox's time scale. What the guide does not say is marked **assumed** in
docs/fidelity-ledger.md: the first deployment of a new service runs no hooks and shifts no traffic; a second
UpdateService during a deployment stops the first (STOPPED) and starts a new one with RECONCILE_SERVICE.
StopServiceDeployment takes ROLLBACK only (its API reference: "The valid values are ROLLBACK"; botocore's model
also lists ABORT, which the sandbox refuses).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from module_utils.bluegreen_ecs import ACTIVE_STATUSES, DEFAULT_CALLBACK_DELAY_SECONDS, traffic_steps

log = logging.getLogger("sandbox.ecs_native")
BLUE_GREEN = ("BLUE_GREEN", "LINEAR", "CANARY")
# How long a new revision's tasks may take to run before the deployment rolls back (assumed: ECS keeps trying).
SCALE_UP_TIMEOUT_MINUTES = 10
ECS_PRINCIPAL = "ecs.amazonaws.com"
RULE_PROPAGATION_SECONDS = 0.6


class Rollback(Exception):
    """Ends a deployment in a rollback: why."""


class Stopped(Exception):
    """A newer deployment of the service started: this one ends where it is."""


@dataclass
class RevisionTasks:
    """The tasks of one service revision, as the agent runs them (the attributes of a task set it reads)."""

    id: str
    service_arn: str
    task_definition: str
    load_balancers: list
    network_configuration: dict | None
    launch_type: str | None
    platform_version: str | None
    scale: dict = field(default_factory=lambda: {"value": 100.0, "unit": "PERCENT"})
    computed_desired_count: int = 0
    running_count: int = 0
    pending_count: int = 0
    stabilityStatus: str = "STABILIZING"
    stabilityStatusAt: datetime | None = None


def with_defaults(config: dict) -> dict:
    """A LINEAR or CANARY configuration with the API reference's defaults filled in (LINEAR: 10 % every 6 minutes;
    CANARY: 5 %, then the rest after 10 minutes)."""
    filled = json.loads(json.dumps(config))
    if filled.get("strategy") == "LINEAR":
        filled["linearConfiguration"] = {
            "stepPercent": 10.0,
            "stepBakeTimeInMinutes": 6,
            **(config.get("linearConfiguration") or {}),
        }
    if filled.get("strategy") == "CANARY":
        filled["canaryConfiguration"] = {
            "canaryPercent": 5.0,
            "canaryBakeTimeInMinutes": 10,
            **(config.get("canaryConfiguration") or {}),
        }
    return filled


def _epoch(value) -> float:
    """A timestamp parameter as the JSON protocol sends it (epoch seconds), or a datetime."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _now() -> datetime:
    return datetime.now(UTC)


class Native:
    """The sandbox's ECS-native deployments; `plane` is the data plane (sandbox/aws.py)."""

    def __init__(self, plane):
        self.plane = plane
        self.cfg = plane.cfg
        self.lock = threading.RLock()
        self.configs: dict[str, dict] = {}  # service ARN -> deploymentConfiguration as given
        self.revisions: dict[str, dict] = {}  # revision ARN -> ServiceRevision
        self.deployments: dict[str, dict] = {}  # deployment ARN -> ServiceDeployment (+ "_" private keys)
        self.groups: dict[str, list[RevisionTasks]] = {}  # service ARN -> its revisions' task groups
        self.production: dict[str, str] = {}  # service ARN -> the revision serving production
        self.numbers = itertools.count(int(time.time()) % 10**6)
        self.boto = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, user_agent_appid="sandbox-ecs")

    # --- what the patched ECS API tells it -------------------------------------------------------------------

    @staticmethod
    def is_blue_green(configuration: dict | None) -> bool:
        return (configuration or {}).get("strategy") in BLUE_GREEN

    def service_created(self, service, configuration: dict | None) -> None:
        """A new ECS-controlled service runs its first revision, blue/green or rolling (ROLLING, the default
        strategy: its tasks run in its target group, if it has one; later rolling updates are not modelled and
        are refused, sandbox/aws.py)."""
        with self.lock:
            self.configs[service.arn] = dict(configuration or {})
            if (service.deployment_controller or {}).get("type", "ECS") != "ECS" or not service.task_definition:
                return
            revision = self._revision(service)
            target_group = (service.load_balancers or [{}])[0].get("targetGroupArn")
            group = self._group(service, revision, target_group)
            arn = self._first_deployment(service, revision, group)
        threading.Thread(target=self._initial, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

    def _first_deployment(self, service, revision: dict, group: RevisionTasks) -> str:
        """The deployment of a service's first revision (created, or moved from CODE_DEPLOY): its tasks run, nothing
        else happens (assumed); production is that revision."""
        arn = self._deployment_arn(service)
        self.deployments[arn] = {
            "serviceDeploymentArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": _now(),
            "startedAt": _now(),
            "targetServiceRevision": {"arn": revision["serviceRevisionArn"]},
            "sourceServiceRevisions": [],
            "status": "IN_PROGRESS",
            "lifecycleStage": "SCALE_UP",
            "deploymentConfiguration": self.configs[service.arn],
            "_group": group.id,
            "_initial": True,
        }
        service.current_service_deployment = arn
        self.production[service.arn] = revision["serviceRevisionArn"]
        return arn

    def service_updated(self, service, properties: dict, previous_task_definition: str | None) -> None:
        with self.lock:
            if "deployment_configuration" in properties:
                # The structure given replaces the service's (assumed: the reference does not say it merges).
                self.configs[service.arn] = dict(properties["deployment_configuration"] or {})
            if not self.is_blue_green(self.configs.get(service.arn)):
                return
            changed = service.task_definition != previous_task_definition
            if not (changed or properties.get("force_new_deployment")):
                return
            previous = [
                d
                for d in self.deployments.values()
                if d["serviceArn"] == service.arn and d["status"] in ACTIVE_STATUSES
            ]
            for old in previous:
                old["_superseded"] = True
            revision = self._revision(service)
            arn = self._deployment_arn(service)
            source = self.production.get(service.arn)
            self.deployments[arn] = {
                "serviceDeploymentArn": arn,
                "serviceArn": service.arn,
                "clusterArn": service.cluster_arn,
                "createdAt": _now(),
                "targetServiceRevision": {"arn": revision["serviceRevisionArn"]},
                "sourceServiceRevisions": [{"arn": source}] if source else [],
                "status": "PENDING",
                "deploymentConfiguration": json.loads(json.dumps(self.configs[service.arn])),
                "alarms": self._alarm_monitor(self.configs[service.arn]),
                "lifecycleHookDetails": [],
                "_reconcile": bool(previous),
                "_requests": [],
            }
            service.current_service_deployment = arn
        threading.Thread(target=self.run, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

    def service_migrated(self, service, task_set) -> None:
        """deploymentController CODE_DEPLOY -> ECS (sandbox/aws.py migrate_controller): the PRIMARY task set's
        tasks become the first service revision's, kept running where they serve (**assumed**: the guide does
        not say whether ECS replaces them; keeping them is what "reuse the same Elastic Load Balancing resources"
        without downtime needs), recorded as a deployment that succeeds once they run, with no hooks."""
        with self.lock:
            self.configs[service.arn] = dict(getattr(service, "deployment_configuration", None) or {})
            service.task_definition = task_set.task_definition
            revision = self._revision(service)
            serving = task_set.load_balancers[0]["targetGroupArn"]
            revision["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"] = serving
            group = RevisionTasks(
                id=task_set.id,  # the same tasks (the agent keeps each task of a live group)
                service_arn=service.arn,
                task_definition=task_set.task_definition,
                load_balancers=json.loads(json.dumps(task_set.load_balancers)),
                network_configuration=task_set.network_configuration,
                launch_type=task_set.launch_type,
                platform_version=task_set.platform_version,
            )
            self.groups.setdefault(service.arn, []).append(group)
            service.task_sets = []
            arn = self._first_deployment(service, revision, group)
        log.info("service %s moved from CODE_DEPLOY to ECS: task set %s is revision %s", service.arn, task_set.id, arn)
        threading.Thread(target=self._initial, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

    def service_deleted(self, service) -> None:
        """DeleteService: the service's revisions no longer run (the agent stops their tasks); a new service of
        the same name, once this one is INACTIVE, starts from nothing."""
        with self.lock:
            self.groups.pop(service.arn, None)
            self.production.pop(service.arn, None)
            self.configs.pop(service.arn, None)

    def groups_of(self, service) -> list[RevisionTasks]:
        with self.lock:
            return list(self.groups.get(service.arn, []))

    # --- the API moto lacks ----------------------------------------------------------------------------------

    def public(self, deployment: dict) -> dict:
        shown = {k: v for k, v in deployment.items() if not k.startswith("_")}
        target = dict(shown["targetServiceRevision"])
        group = self._group_by_id(deployment.get("_green") or deployment.get("_group"))
        if group is not None:
            target.update(
                requestedTaskCount=group.computed_desired_count,
                runningTaskCount=group.running_count,
                pendingTaskCount=group.pending_count,
            )
        target.setdefault("requestedProductionTrafficWeight", deployment.get("_production_weight", 0.0))
        target.setdefault("requestedTestTrafficWeight", deployment.get("_test_weight", 0.0))
        shown["targetServiceRevision"] = target
        shown["updatedAt"] = deployment.get("_updated", shown["createdAt"])
        return shown

    def list_deployments(self, service_arn: str, statuses: list[str] | None, created: dict | None = None) -> list[dict]:
        """Newest first (assumed: the reference names no order), filtered by status and createdAt {before, after}."""
        created = created or {}
        with self.lock:
            found = [
                d
                for d in self.deployments.values()
                if d["serviceArn"] == service_arn
                and (not created.get("after") or d["createdAt"].timestamp() >= _epoch(created["after"]))
                and (not created.get("before") or d["createdAt"].timestamp() <= _epoch(created["before"]))
            ]
        found.sort(key=lambda d: d["createdAt"], reverse=True)
        return [
            {
                "serviceDeploymentArn": d["serviceDeploymentArn"],
                "serviceArn": d["serviceArn"],
                "clusterArn": d["clusterArn"],
                "createdAt": d["createdAt"],
                **({"startedAt": d["startedAt"]} if "startedAt" in d else {}),
                **({"finishedAt": d["finishedAt"]} if "finishedAt" in d else {}),
                "targetServiceRevisionArn": d["targetServiceRevision"]["arn"],
                "status": d["status"],
                **({"statusReason": d["statusReason"]} if d.get("statusReason") else {}),
            }
            for d in found
            if not statuses or d["status"] in statuses
        ]

    def describe_deployments(self, arns: list[str]) -> tuple[list[dict], list[dict]]:
        with self.lock:
            found = [self.public(self.deployments[a]) for a in arns if a in self.deployments]
        missing = [{"arn": a, "reason": "MISSING"} for a in arns if a not in self.deployments]
        return found, missing

    def describe_revisions(self, arns: list[str]) -> tuple[list[dict], list[dict]]:
        with self.lock:
            found = [json.loads(json.dumps(self.revisions[a], default=str)) for a in arns if a in self.revisions]
        for revision in found:
            revision["createdAt"] = self.revisions[revision["serviceRevisionArn"]]["createdAt"]
        return found, [{"arn": a, "reason": "MISSING"} for a in arns if a not in self.revisions]

    def request_stop(self, arn: str, stop_type: str) -> None:
        from moto.ecs.exceptions import EcsClientException

        with self.lock:
            deployment = self.deployments.get(arn)
            if deployment is None:
                raise LookupError(arn)
            if deployment["status"] not in ("PENDING", "IN_PROGRESS"):
                raise EcsClientException(
                    f"The service deployment {arn} is {deployment['status']}: it cannot be stopped."
                )
            deployment["_requests"].append(("stop", stop_type))
            deployment["status"] = "ROLLBACK_REQUESTED"

    def request_continue(self, arn: str, hook_id: str, action: str) -> None:
        from moto.ecs.exceptions import EcsClientException

        with self.lock:
            deployment = self.deployments.get(arn)
            if deployment is None:
                raise LookupError(arn)
            hook = next((h for h in deployment.get("lifecycleHookDetails", []) if h["hookId"] == hook_id), None)
            if hook is None or hook.get("targetType") != "PAUSE" or hook.get("status") != "AWAITING_ACTION":
                raise EcsClientException(f"The hook {hook_id} of {arn} is not a PAUSE hook awaiting action.")
            deployment["_requests"].append(("continue", hook_id, action))

    # --- running a deployment --------------------------------------------------------------------------------

    def _initial(self, arn: str) -> None:
        """A new service's first revision: its tasks start, nothing else (assumed)."""
        deployment = self.deployments[arn]
        group = self._group_by_id(deployment["_group"])
        try:
            if group is None:
                raise Rollback("Service revision tasks are gone")
            self._wait_running(deployment, group)
        except Rollback as e:
            self._finish(deployment, "STOPPED", str(e))
            return
        self._finish(deployment, "SUCCESSFUL", "ECS deployment completed.")

    def run(self, arn: str) -> None:
        deployment = self.deployments[arn]
        try:
            self._run(deployment)
        except Rollback as e:
            self._rollback(deployment, str(e))
        except Stopped as e:
            self._finish(deployment, "STOPPED", str(e))
        except Exception as e:
            log.exception("service deployment %s failed", arn)
            self._rollback(deployment, f"Sandbox: the deployment failed unexpectedly ({type(e).__name__}: {e})")

    def _run(self, deployment: dict) -> None:
        service = self._service(deployment["serviceArn"])
        config = deployment["deploymentConfiguration"]
        with self.lock:
            deployment.update(status="IN_PROGRESS", startedAt=_now())
        self._check_networking(deployment)
        if deployment.get("_reconcile"):
            self._stage(deployment, "RECONCILE_SERVICE")
        self._stage(deployment, "PRE_SCALE_UP")
        group, advanced, blue, green = self._scale_up(deployment, service)
        self._stage(deployment, "POST_SCALE_UP")
        self._set_stage(deployment, "TEST_TRAFFIC_SHIFT")
        if advanced.get("testListenerRule"):
            self._weights(advanced, advanced["testListenerRule"], blue, green, 100.0)
        with self.lock:
            deployment["_test_weight"] = 100.0
        self._hooks(deployment, "TEST_TRAFFIC_SHIFT")
        self._stage(deployment, "POST_TEST_TRAFFIC_SHIFT")
        self._shift_production(deployment, config, advanced, blue, green)
        self._stage(deployment, "POST_PRODUCTION_TRAFFIC_SHIFT")
        self._set_stage(deployment, "BAKE_TIME")
        self._sleep(deployment, float(config.get("bakeTimeInMinutes") or 0) * 60 * self.cfg.time_scale)
        with self.lock:
            deployment["_baked"] = True
        self._set_stage(deployment, "CLEAN_UP")
        self._retire(service, keep=group.id)
        with self.lock:
            self.production[service.arn] = deployment["targetServiceRevision"]["arn"]
            if deployment.get("alarms", {}).get("status") == "MONITORING":
                deployment["alarms"]["status"] = "MONITORING_COMPLETE"
        self._finish(deployment, "SUCCESSFUL", "ECS deployment completed.")

    def _check_networking(self, deployment: dict) -> None:
        """Both target groups must be forwarded to by the production or the test listener rule (ECS developer guide,
        "Migrating from a CodeDeploy blue/green to an Amazon ECS blue/green service deployment": else the deployment
        rolls back with this message)."""
        revision = self.revisions[deployment["targetServiceRevision"]["arn"]]
        balancer = revision["loadBalancers"][0]
        advanced = balancer.get("advancedConfiguration") or {}
        rules = {rule.arn: rule for listener in self._listeners() for rule in list(listener.rules.values())}
        forwarded: set[str] = set()
        for arn in (advanced.get("productionListenerRule"), advanced.get("testListenerRule")):
            rule = rules.get(arn or "")
            for action in rule.actions if rule is not None else []:
                data = action.data
                forwarded.update(
                    g["TargetGroupArn"] for g in (data.get("ForwardConfig") or {}).get("TargetGroups") or []
                )
                if data.get("TargetGroupArn"):
                    forwarded.add(data["TargetGroupArn"])
        if not {balancer["targetGroupArn"], advanced.get("alternateTargetGroupArn")} <= forwarded:
            raise Rollback(
                "Service deployment rolled back because of invalid networking configuration. Both targetGroup and "
                "alternateTargetGroup must be associated with the productionListenerRule or testListenerRule."
            )

    def _listeners(self) -> list:
        elbv2 = self.plane.backend("elbv2")
        return [
            listener
            for balancer in list(elbv2.load_balancers.values())
            for listener in list(balancer.listeners.values())
        ]

    def _scale_up(self, deployment: dict, service) -> tuple[RevisionTasks, dict, str | None, str]:
        """SCALE_UP: the new revision's tasks, in the target group of the pair production does not use."""
        self._set_stage(deployment, "SCALE_UP")
        revision = self.revisions[deployment["targetServiceRevision"]["arn"]]
        balancer = revision["loadBalancers"][0]
        advanced = balancer["advancedConfiguration"]
        pair = [balancer["targetGroupArn"], advanced["alternateTargetGroupArn"]]
        sources = deployment["sourceServiceRevisions"]
        blue = (
            self.revisions[sources[0]["arn"]]["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"]
            if sources
            else None
        )
        green = next(arn for arn in pair if arn != blue)
        resolved = {"targetGroupArn": green}
        if advanced.get("productionListenerRule"):
            resolved["productionListenerRule"] = advanced["productionListenerRule"]
        revision["resolvedConfiguration"] = {"loadBalancers": [resolved]}
        group = self._group(service, revision, green)
        with self.lock:
            deployment.update(_green=group.id, _blue_group=blue, _green_group=green)
        self._wait_running(deployment, group)
        return group, advanced, blue, green

    def _shift_production(self, deployment: dict, config: dict, advanced: dict, blue: str | None, green: str) -> None:
        """PRODUCTION_TRAFFIC_SHIFT, step by step (PRE_PRODUCTION_TRAFFIC_SHIFT hooks before each step,
        PRODUCTION_TRAFFIC_SHIFT hooks after it), with the step bake time between steps."""
        filled = with_defaults(config)
        if filled["strategy"] == "LINEAR":
            step_minutes = float(filled["linearConfiguration"]["stepBakeTimeInMinutes"])
        elif filled["strategy"] == "CANARY":
            step_minutes = float(filled["canaryConfiguration"]["canaryBakeTimeInMinutes"])
        else:
            step_minutes = 0.0
        for index, percent in enumerate(traffic_steps(filled)):
            self._set_stage(deployment, "PRODUCTION_TRAFFIC_SHIFT")
            self._hooks(deployment, "PRE_PRODUCTION_TRAFFIC_SHIFT", step=index)
            self._weights(advanced, advanced["productionListenerRule"], blue, green, percent)
            with self.lock:
                deployment["_production_weight"] = percent
            self._hooks(deployment, "PRODUCTION_TRAFFIC_SHIFT", step=index)
            if percent < 100.0:
                self._sleep(deployment, step_minutes * 60 * self.cfg.time_scale)

    def _rollback(self, deployment: dict, reason: str) -> None:
        log.info("service deployment %s rolls back: %s", deployment["serviceDeploymentArn"], reason)
        source = deployment["sourceServiceRevisions"][0]["arn"] if deployment["sourceServiceRevisions"] else None
        with self.lock:
            deployment["status"] = "ROLLBACK_IN_PROGRESS"
            deployment["rollback"] = {
                "reason": reason,
                "startedAt": _now(),
                **({"serviceRevisionArn": source} if source else {}),
            }
            deployment["_updated"] = _now()
        try:
            revision = self.revisions[deployment["targetServiceRevision"]["arn"]]
            advanced = revision["loadBalancers"][0]["advancedConfiguration"]
            blue, green = deployment.get("_blue_group"), deployment.get("_green_group")
            if blue and green:
                self._weights(advanced, advanced["productionListenerRule"], blue, green, 0.0)
                with self.lock:
                    deployment["_production_weight"] = 0.0
                self._hooks(deployment, "PRODUCTION_TRAFFIC_SHIFT", rolling_back=True)
                if advanced.get("testListenerRule"):
                    self._weights(advanced, advanced["testListenerRule"], blue, green, 0.0)
                with self.lock:
                    deployment["_test_weight"] = 0.0
                self._hooks(deployment, "TEST_TRAFFIC_SHIFT", rolling_back=True)
            group = self._group_by_id(deployment.get("_green"))
            if group is not None:
                self._remove_group(group)
            service = self._service(deployment["serviceArn"])
            if source:
                service.task_definition = self.revisions[source]["taskDefinition"]
        except Exception as e:  # the rollback itself failed
            log.exception("rollback of %s failed", deployment["serviceDeploymentArn"])
            self._finish(deployment, "ROLLBACK_FAILED", f"{reason}; the rollback failed: {e}")
            return
        self._finish(deployment, "ROLLBACK_SUCCESSFUL", reason)

    def _finish(self, deployment: dict, status: str, reason: str) -> None:
        with self.lock:
            deployment.update(status=status, statusReason=reason, finishedAt=_now(), _updated=_now())
            if status == "STOPPED":
                deployment["stoppedAt"] = deployment["finishedAt"]
            deployment["lifecycleHookDetails"] = [
                h for h in deployment.get("lifecycleHookDetails", []) if h.get("status") in ("FAILED", "TIMED_OUT")
            ]
        log.info("service deployment %s %s: %s", deployment["serviceDeploymentArn"], status, reason)

    # --- stages and hooks ------------------------------------------------------------------------------------

    def _set_stage(self, deployment: dict, stage: str) -> None:
        self._check(deployment)
        with self.lock:
            deployment["lifecycleStage"] = stage
            deployment["lifecycleHookDetails"] = []
            deployment["_updated"] = _now()
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
                now = time.time()
                for detail in details:
                    if (
                        detail["status"] in ("AWAITING_ACTION", "IN_PROGRESS")
                        and now >= detail["expiresAt"].timestamp()
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

    # --- tasks and traffic -----------------------------------------------------------------------------------

    def _wait_running(self, deployment: dict, group: RevisionTasks) -> None:
        deadline = time.monotonic() + SCALE_UP_TIMEOUT_MINUTES * 60 * self.cfg.time_scale
        while True:
            if not deployment.get("_initial"):
                self._check(deployment)
            desired = group.computed_desired_count
            if (
                desired
                and group.running_count >= desired
                and group.pending_count == 0
                and self._healthy(group, desired)
            ):
                return
            if time.monotonic() > deadline:
                states = self._target_states(group)
                raise Rollback(
                    f"Service revision tasks did not start: {group.running_count} of {desired} running, "
                    f"{states.count('healthy')} healthy in their target group after {SCALE_UP_TIMEOUT_MINUTES} minutes"
                )
            time.sleep(0.2)

    def _healthy(self, group: RevisionTasks, wanted: int) -> bool:
        """The group's targets are healthy in its target group, as ECS waits for a service's tasks to pass their
        load balancer health checks (while no listener routes to the group, registered is all that can be seen)."""
        if not group.load_balancers:
            return group.running_count >= wanted
        states = self._target_states(group)
        name = group.load_balancers[0]["targetGroupArn"].split(":targetgroup/")[-1].split("/")[0]
        if name not in self.plane.in_use:
            return len(states) >= wanted
        return states.count("healthy") >= wanted

    def _target_states(self, group: RevisionTasks) -> list[str]:
        """The health of the group's own tasks in its target group (another service's may share the group)."""
        if not group.load_balancers:
            return []
        target_group = self.plane.backend("elbv2").target_groups.get(group.load_balancers[0]["targetGroupArn"])
        if target_group is None:
            return []
        mine = {
            task.ip
            for task in list(self.plane.agent.tasks.values())
            if task.task_set_id == group.id and task.state in ("PENDING", "RUNNING")
        }
        return [
            self.plane.target_health(target_group, dict(t)).status
            for t in list(target_group.targets.values())
            if t["Id"] in mine
        ]

    def _weights(self, advanced: dict, rule_arn: str, blue: str | None, green: str, green_percent: float) -> None:
        """The rule forwards green_percent to the new revision's target group, the rest to the previous one, as
        the load balancer role (ModifyRule)."""
        groups = [{"TargetGroupArn": green, "Weight": round(green_percent)}]
        if blue:
            groups.insert(0, {"TargetGroupArn": blue, "Weight": round(100 - green_percent)})
        elbv2 = self._client("elbv2", advanced["roleArn"])
        # ECS reads the rule it rewrites (assumed; AmazonECSInfrastructureRolePolicyForLoadBalancers grants it).
        elbv2.describe_rules(RuleArns=[rule_arn])
        elbv2.modify_rule(RuleArn=rule_arn, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])
        # The load balancer applies the rule on its next reconciliation (every 0.25 s): the deployment reports the
        # step once traffic follows it.
        time.sleep(RULE_PROPAGATION_SECONDS)

    def _client(self, service: str, role_arn: str):
        credentials = self.plane.authority.assume_for_service(role_arn, ECS_PRINCIPAL, "ECS")
        return boto3.client(
            service,
            region_name=self.cfg.region,
            endpoint_url=self.cfg.aws_endpoint,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=self.boto,
        )

    def _retire(self, service, keep: str) -> None:
        for group in self.groups_of(service):
            if group.id != keep:
                self._remove_group(group)

    def _remove_group(self, group: RevisionTasks) -> None:
        with self.lock:
            groups = self.groups.get(group.service_arn, [])
            if group in groups:
                groups.remove(group)

    # --- records ---------------------------------------------------------------------------------------------

    def _service(self, service_arn: str):
        ecs = self.plane.backend("ecs")
        return next(s for s in list(ecs.services.values()) if s.arn == service_arn)

    def _deployment_arn(self, service) -> str:
        return (
            service.arn.replace(":service/", ":service-deployment/")
            + f"/{next(self.numbers):x}{int(time.time() * 1000) % 10**6:06d}"
        )

    def _revision(self, service) -> dict:
        number = next(self.numbers)
        arn = service.arn.replace(":service/", ":service-revision/") + f"/{number}"
        network = getattr(service, "network_configuration", None)
        revision = {
            "serviceRevisionArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "taskDefinition": service.task_definition,
            "loadBalancers": json.loads(json.dumps(service.load_balancers)),
            "createdAt": _now(),
        }
        if service.launch_type:
            revision["launchType"] = service.launch_type
        if service.platform_version:
            revision["platformVersion"] = service.platform_version
        if network:
            revision["networkConfiguration"] = network
        if service.load_balancers:
            revision["resolvedConfiguration"] = {
                "loadBalancers": [
                    {
                        "targetGroupArn": service.load_balancers[0]["targetGroupArn"],
                        **(
                            {"productionListenerRule": rule}
                            if (
                                rule := (service.load_balancers[0].get("advancedConfiguration") or {}).get(
                                    "productionListenerRule"
                                )
                            )
                            else {}
                        ),
                    }
                ]
            }
        with self.lock:
            self.revisions[arn] = revision
        return revision

    def _group(self, service, revision: dict, target_group_arn: str | None) -> RevisionTasks:
        balancers = []
        if revision["loadBalancers"]:
            balancer = dict(revision["loadBalancers"][0])
            balancer.pop("advancedConfiguration", None)
            balancer["targetGroupArn"] = target_group_arn
            balancers.append(balancer)
        group = RevisionTasks(
            id=f"ecs-svc/{next(self.numbers)}{int(time.time()) % 10**6}",
            service_arn=service.arn,
            task_definition=revision["taskDefinition"],
            load_balancers=balancers,
            network_configuration=revision.get("networkConfiguration"),
            launch_type=revision.get("launchType"),
            platform_version=revision.get("platformVersion"),
        )
        with self.lock:
            self.groups.setdefault(service.arn, []).append(group)
        return group

    def _group_by_id(self, group_id: str | None) -> RevisionTasks | None:
        if group_id is None:
            return None
        with self.lock:
            return next((g for groups in self.groups.values() for g in groups if g.id == group_id), None)

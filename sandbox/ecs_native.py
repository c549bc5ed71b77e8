"""ECS-native blue/green in the sandbox: `deploymentController: ECS` with strategy BLUE_GREEN, LINEAR or CANARY.

moto stores none of it (it drops `deploymentConfiguration` and has no service deployments): this is the sandbox's
ECS for such services, following the ECS API reference and developer guide ("Amazon ECS blue/green deployments",
"Lifecycle hooks for Amazon ECS service deployments"; module_utils/model/ecs.py names the stages):

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
- Every Elastic Load Balancing call of a deployment is made as the load balancer's role (advancedConfiguration.roleArn,
  assumed by ecs.amazonaws.com): the reads of the rules, listeners and target groups, each task's registration and
  deregistration (the agent asks authorize_targets), the target health, the rules' weights. Its permissions are
  enforced: a refusal rolls the deployment back.
- The deployment's alarms (deploymentConfiguration.alarms, rollback true) roll it back when one is in ALARM, from
  the start until the bake time ends. The deployment circuit breaker is for rolling updates only: not used here.
- A rollback (FAILED hook, alarm, StopServiceDeployment ROLLBACK, ContinueServiceDeployment ROLLBACK) runs the
  hooks at TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT again, returns both rules to the previous revision,
  stops the new revision's tasks: ROLLBACK_SUCCESSFUL (ROLLBACK_FAILED if that fails).

Minutes and callBackDelay are on the sandbox's time scale. What the guide does not say is marked **assumed** in
docs/fidelity-ledger.md: a new service's first deployment runs every stage and hook with no source revision and
shifts production in one step; a move from CODE_DEPLOY starts a deployment of the same task definition (UpdateService
with loadBalancers triggers one); a second UpdateService during a deployment stops the first (STOPPED) and starts a
new one with RECONCILE_SERVICE; DescribeServices lists the deployment's revisions (PRIMARY IN_PROGRESS, ACTIVE)
until it ends. StopServiceDeployment takes ROLLBACK only (its API reference: "The valid values are ROLLBACK";
botocore's model also lists ABORT, which the sandbox refuses).
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

from module_utils.model.ecs import ACTIVE_STATUSES, DEFAULT_CALLBACK_DELAY_SECONDS, traffic_steps
from sandbox.iam_authority import Denied, RoleNotAssumable

log = logging.getLogger("sandbox.ecs_native")
BLUE_GREEN = ("BLUE_GREEN", "LINEAR", "CANARY")
# How long a new revision's tasks may take to run before the deployment rolls back (assumed: ECS keeps trying).
SCALE_UP_TIMEOUT_MINUTES = 10
ECS_PRINCIPAL = "ecs.amazonaws.com"
# The session name ECS uses with the load balancer role (ECS developer guide, "Amazon ECS infrastructure IAM role for
# load balancers": CloudTrail shows roleSessionName ECSNetworkingWithELB).
ELB_SESSION = "ECSNetworkingWithELB"
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
    # Why ECS could not register the group's tasks in its target group (the load balancer role was denied).
    failure: str | None = None
    shown_at: datetime | None = None  # when DescribeServices first listed the group's deployment


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
        # group id -> service ARN of the groups retired or rolled back: their tasks are still deregistered as the
        # service's load balancer role while they drain.
        self.retired: dict[str, str] = {}
        self.numbers = itertools.count(int(time.time()) % 10**6)
        self.boto = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, user_agent_appid="sandbox-ecs")
        self.clients: dict[tuple[str, str, str], object] = {}
        self.client_lock = threading.Lock()  # boto3's default session is not thread-safe

    # --- what the patched ECS API tells it -------------------------------------------------------------------

    @staticmethod
    def is_blue_green(configuration: dict | None) -> bool:
        return (configuration or {}).get("strategy") in BLUE_GREEN

    def service_created(self, service, configuration: dict | None) -> None:
        """A new ECS-controlled service's first deployment. A blue/green one runs as every later one does, lifecycle
        hooks included: ECS invokes them for CreateService as for UpdateService (AWS's sample hooks for ECS blue/green
        tell the two apart by the service's deployments), with no source revision and nothing to shift production
        from (one step to 100 %: **assumed**). A rolling one (ROLLING, the default strategy) runs its tasks in its
        target group, if it has one; later rolling updates are not modelled and are refused (sandbox/aws.py)."""
        with self.lock:
            self.configs[service.arn] = dict(configuration or {})
            if (service.deployment_controller or {}).get("type", "ECS") != "ECS" or not service.task_definition:
                return
            if self.is_blue_green(configuration):
                arn = self._new_deployment(service, source=None, reconcile=False)
                runner = self.run
            else:
                revision = self._revision(service)
                target_group = (service.load_balancers or [{}])[0].get("targetGroupArn")
                group = self._group(service, revision, target_group)
                arn = self._first_deployment(service, revision, group)
                runner = self._initial
        threading.Thread(target=runner, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

    def _first_deployment(self, service, revision: dict, group: RevisionTasks) -> str:
        """The deployment of a rolling service's first revision: its tasks run; production is that revision."""
        arn = self._record(
            service,
            revision,
            None,
            startedAt=_now(),
            status="IN_PROGRESS",
            lifecycleStage="SCALE_UP",
            deploymentConfiguration=self.configs[service.arn],
            _group=group.id,
            _initial=True,
        )
        self.production[service.arn] = revision["serviceRevisionArn"]
        return arn

    def _record(self, service, revision: dict, source: str | None, **fields) -> str:
        """A new ServiceDeployment of the service (its current one), from `source` (a revision ARN) to `revision`."""
        arn = self._deployment_arn(service)
        self.deployments[arn] = {
            "serviceDeploymentArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": _now(),
            "targetServiceRevision": {"arn": revision["serviceRevisionArn"]},
            "sourceServiceRevisions": [{"arn": source}] if source else [],
            **fields,
        }
        service.current_service_deployment = arn
        return arn

    # UpdateService parameters of which the API reference says "This parameter triggers a new service deployment"
    # (moto's names); taskDefinition does when it names another revision, forceNewDeployment always.
    TRIGGERS = (
        "network_configuration",
        "platform_version",
        "load_balancers",
        "service_registries",
        "service_connect_configuration",
        "volume_configurations",
        "vpc_lattice_configurations",
    )

    def service_updated(self, service, properties: dict, previous_task_definition: str | None) -> None:
        with self.lock:
            if "deployment_configuration" in properties:
                # The structure given replaces the service's (assumed: the reference does not say it merges).
                self.configs[service.arn] = dict(properties["deployment_configuration"] or {})
            if not self.is_blue_green(self.configs.get(service.arn)):
                return
            changed = service.task_definition != previous_task_definition
            triggered = [k for k in self.TRIGGERS if properties.get(k) is not None]
            if not (changed or triggered or properties.get("force_new_deployment")):
                return
            previous = [
                d
                for d in self.deployments.values()
                if d["serviceArn"] == service.arn and d["status"] in ACTIVE_STATUSES
            ]
            for old in previous:
                old["_superseded"] = True
            arn = self._new_deployment(service, self.production.get(service.arn), reconcile=bool(previous))
        threading.Thread(target=self.run, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

    def _new_deployment(self, service, source: str | None, reconcile: bool) -> str:
        """A service deployment of the service's task definition, PENDING until its thread runs it."""
        return self._record(
            service,
            self._revision(service),
            source,
            status="PENDING",
            deploymentConfiguration=json.loads(json.dumps(self.configs[service.arn])),
            alarms=self._alarm_monitor(self.configs[service.arn]),
            lifecycleHookDetails=[],
            _reconcile=reconcile,
            _requests=[],
        )

    def service_migrated(self, service, task_set) -> None:
        """deploymentController CODE_DEPLOY -> ECS (sandbox/aws.py migrate_controller), which sends loadBalancers: the
        PRIMARY task set's tasks become the service revision production runs (they keep serving where they serve),
        and, as UpdateService with loadBalancers "triggers a new service deployment" (API reference), a deployment
        of the same task definition starts from it: new tasks in the other target group, every lifecycle hook, the
        traffic shift and the bake time, as any deployment (the ECS guide does not say more: **assumed**)."""
        with self.lock:
            self.configs[service.arn] = dict(getattr(service, "deployment_configuration", None) or {})
            service.task_definition = task_set.task_definition
            source = self._revision(service)
            serving = task_set.load_balancers[0]["targetGroupArn"]
            source["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"] = serving
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
            self.production[service.arn] = source["serviceRevisionArn"]
            arn = self._new_deployment(service, source["serviceRevisionArn"], reconcile=False)
        log.info(
            "service %s moved from CODE_DEPLOY to ECS: task set %s serves; deployment %s", service.arn, task_set.id, arn
        )
        threading.Thread(target=self.run, args=(arn,), name=f"ecs-{arn[-8:]}", daemon=True).start()

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

    def show(self, service) -> None:
        """DescribeServices' `deployments` of an ECS-controlled service (the agent calls this as it reports counts).
        The reference documents rolloutState for rolling updates only; what AWS is observed to show for BLUE_GREEN,
        LINEAR and CANARY (**assumed** from other tools' users: blue and green both listed and running until the
        deployment ends, bake time included, so the services-stable waiter does not return before): while a service
        deployment is active, its new revision's tasks as the PRIMARY entry (rolloutState IN_PROGRESS) and every
        other revision's as ACTIVE; once it ended, one PRIMARY entry (COMPLETED) for the revision that serves, with
        the service's task definition."""
        if (service.deployment_controller or {}).get("type", "ECS") != "ECS":
            return
        with self.lock:
            if service.arn not in self.configs:
                return
            current = self.deployments.get(getattr(service, "current_service_deployment", "") or "")
            groups = list(self.groups.get(service.arn, []))
            active = current is not None and current["status"] in ACTIVE_STATUSES
            new = current.get("_green") or current.get("_group") if current else None
            revision = self.revisions.get(current["targetServiceRevision"]["arn"], {}) if current else {}
        entries = []
        for group in groups:
            primary = group.id == new if active else group is groups[-1]
            entries.append(self._shown(service, group, "PRIMARY" if primary else "ACTIVE", active))
        if active and not any(e["status"] == "PRIMARY" for e in entries) and current is not None:
            # Before SCALE_UP: the new revision has no task yet.
            planned = RevisionTasks(
                id=f"ecs-svc/{current['serviceDeploymentArn'].rsplit('/', 1)[-1]}",
                service_arn=service.arn,
                task_definition=revision.get("taskDefinition") or service.task_definition,
                load_balancers=[],
                network_configuration=revision.get("networkConfiguration"),
                launch_type=revision.get("launchType"),
                platform_version=revision.get("platformVersion"),
                computed_desired_count=service.desired_count,
            )
            entries.append(self._shown(service, planned, "PRIMARY", True))
        entries.sort(key=lambda e: e["status"] != "PRIMARY")
        service.deployments = entries

    def _shown(self, service, group: RevisionTasks, status: str, active: bool) -> dict:
        if group.shown_at is None:
            group.shown_at = _now()
        created = group.shown_at
        entry = {
            "id": group.id,
            "status": status,
            "taskDefinition": group.task_definition,
            "desiredCount": group.computed_desired_count or service.desired_count,
            "pendingCount": group.pending_count,
            "runningCount": group.running_count,
            "failedTasks": 0,
            "createdAt": created,
            "updatedAt": group.stabilityStatusAt or created,
            "launchType": group.launch_type or service.launch_type,
            "platformVersion": group.platform_version or service.platform_version,
            "platformFamily": "Linux",
            "networkConfiguration": group.network_configuration,
        }
        if status == "PRIMARY":
            state = "IN_PROGRESS" if active else "COMPLETED"
            entry["rolloutState"] = state
            entry["rolloutStateReason"] = (
                f"ECS deployment {group.id} in progress." if active else f"ECS deployment {group.id} completed."
            )
        return entry

    def load_balancer_role(self, service_arn: str) -> str | None:
        """The role ECS makes a blue/green service's Elastic Load Balancing calls with (advancedConfiguration.roleArn);
        None for a rolling service (ECS's service-linked role registers its tasks)."""
        with self.lock:
            if not self.is_blue_green(self.configs.get(service_arn)):
                return None
        try:
            service = self._service(service_arn)
        except StopIteration:
            return None
        return ((service.load_balancers or [{}])[0].get("advancedConfiguration") or {}).get("roleArn")

    def authorize_targets(self, group_id: str | None, action: str, target_group_arn: str) -> str | None:
        """The agent registers or deregisters a revision's task (RegisterTargets / DeregisterTargets): as the load
        balancer role for a blue/green service, as every call ECS makes to Elastic Load Balancing for its deployments
        (ECS developer guide, troubleshooting blue/green deployments). Returns why it was refused, else None; a
        refused registration fails the group (the deployment rolls back, _wait_running)."""
        group = self._group_by_id(group_id)
        with self.lock:
            service_arn = group.service_arn if group is not None else self.retired.get(group_id or "")
        role = self.load_balancer_role(service_arn) if service_arn else None
        if not role:
            return None
        authority = self.plane.authority
        try:
            authority.assume_for_service(role, ECS_PRINCIPAL, ELB_SESSION)
            authority.require(
                authority.role_session(role, ELB_SESSION),
                f"elasticloadbalancing:{action}",
                [(target_group_arn, {})],
                "ecs-agent",
            )
        except (Denied, RoleNotAssumable) as e:
            verb = action.replace("Targets", "").lower()
            refusal = f"Failed to {verb} targets in target group {target_group_arn}: {e}"
            if group is not None:
                with self.lock:
                    group.failure = group.failure or refusal
            return refusal
        return None

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
        """Oldest first (**assumed**: the reference names no order; the opposite of what a reader taking the first as
        the latest expects, so that such a reader fails here), filtered by status and createdAt {before, after}.
        Ties in createdAt go by ARN: the handler's nextToken resumes after a (createdAt, ARN) position."""
        created = created or {}
        with self.lock:
            found = [
                d
                for d in self.deployments.values()
                if d["serviceArn"] == service_arn
                and (not created.get("after") or d["createdAt"].timestamp() >= _epoch(created["after"]))
                and (not created.get("before") or d["createdAt"].timestamp() <= _epoch(created["before"]))
            ]
        found.sort(key=lambda d: (d["createdAt"], d["serviceDeploymentArn"]))
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
        """ECS reads the listener rules, their listeners and the target groups the revision names, as the load balancer
        role (an AccessDenied rolls the deployment back, as the ECS guide's troubleshooting page for blue/green shows).
        Both target groups must be forwarded to by the production or the test listener rule (ECS developer guide,
        "Migrating from a CodeDeploy blue/green to an Amazon ECS blue/green service deployment": else the deployment
        rolls back with this message)."""
        revision = self.revisions[deployment["targetServiceRevision"]["arn"]]
        balancer = revision["loadBalancers"][0]
        advanced = balancer.get("advancedConfiguration") or {}
        rule_arns = [a for a in (advanced.get("productionListenerRule"), advanced.get("testListenerRule")) if a]
        pair = [balancer["targetGroupArn"], advanced.get("alternateTargetGroupArn")]
        elbv2 = self._client("elbv2", advanced["roleArn"], ELB_SESSION)
        try:
            rules = elbv2.describe_rules(RuleArns=rule_arns)["Rules"] if rule_arns else []
            listeners = sorted({arn.replace(":listener-rule/", ":listener/").rsplit("/", 1)[0] for arn in rule_arns})
            if listeners:
                elbv2.describe_listeners(ListenerArns=listeners)
            elbv2.describe_target_groups(TargetGroupArns=[g for g in pair if g])
        except botocore.exceptions.ClientError as e:
            raise Rollback(f"Service deployment rolled back: {e.response['Error']['Message']}") from None
        forwarded: set[str] = set()
        for rule in rules:
            for action in rule.get("Actions") or []:
                weighted = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
                forwarded.update(g["TargetGroupArn"] for g in weighted)
                if action.get("TargetGroupArn"):
                    forwarded.add(action["TargetGroupArn"])
        if not set(pair) <= forwarded:
            raise Rollback(
                "Service deployment rolled back because of invalid networking configuration. Both targetGroup and "
                "alternateTargetGroup must be associated with the productionListenerRule or testListenerRule."
            )

    def _scale_up(self, deployment: dict, service) -> tuple[RevisionTasks, dict, str, str]:
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
        other = next(arn for arn in pair if arn != green)  # blue, or (a first deployment) the pair's empty group
        resolved = {"targetGroupArn": green}
        if advanced.get("productionListenerRule"):
            resolved["productionListenerRule"] = advanced["productionListenerRule"]
        revision["resolvedConfiguration"] = {"loadBalancers": [resolved]}
        group = self._group(service, revision, green)
        with self.lock:
            deployment.update(_green=group.id, _blue_group=blue, _green_group=green)
        self._wait_running(deployment, group)
        return group, advanced, other, green

    def _shift_production(self, deployment: dict, config: dict, advanced: dict, blue: str, green: str) -> None:
        """PRODUCTION_TRAFFIC_SHIFT, step by step (PRE_PRODUCTION_TRAFFIC_SHIFT hooks before each step,
        PRODUCTION_TRAFFIC_SHIFT hooks after it), with the step bake time between steps."""
        filled = with_defaults(config)
        if filled["strategy"] == "LINEAR":
            step_minutes = float(filled["linearConfiguration"]["stepBakeTimeInMinutes"])
        elif filled["strategy"] == "CANARY":
            step_minutes = float(filled["canaryConfiguration"]["canaryBakeTimeInMinutes"])
        else:
            step_minutes = 0.0
        # A first deployment has no production traffic to move: one step (**assumed**).
        steps = traffic_steps(filled) if deployment["sourceServiceRevisions"] else [100.0]
        for index, percent in enumerate(steps):
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
            if group.failure:
                raise Rollback(f"Service deployment rolled back: {group.failure}")
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
        """The health of the group's own tasks in its target group (another service's may share the group), read with
        DescribeTargetHealth as the load balancer role (a rolling service's: as ECS's service-linked role)."""
        if not group.load_balancers:
            return []
        arn = group.load_balancers[0]["targetGroupArn"]
        mine = {
            task.ip
            for task in list(self.plane.agent.tasks.values())
            if task.task_set_id == group.id and task.state in ("PENDING", "RUNNING")
        }
        role = self.load_balancer_role(group.service_arn)
        if role:
            try:
                described = self._client("elbv2", role, ELB_SESSION).describe_target_health(TargetGroupArn=arn)
            except botocore.exceptions.ClientError as e:
                raise Rollback(f"Service deployment rolled back: {e.response['Error']['Message']}") from None
            return [
                d["TargetHealth"]["State"] for d in described["TargetHealthDescriptions"] if d["Target"]["Id"] in mine
            ]
        target_group = self.plane.backend("elbv2").target_groups.get(arn)
        if target_group is None:
            return []
        return [
            self.plane.target_health(target_group, dict(t)).status
            for t in list(target_group.targets.values())
            if t["Id"] in mine
        ]

    def _weights(self, advanced: dict, rule_arn: str, blue: str, green: str, green_percent: float) -> None:
        """The rule forwards green_percent to the new revision's target group, the rest to the other group of the
        pair (the previous revision's; empty on a first deployment), as the load balancer role (ModifyRule)."""
        groups = [
            {"TargetGroupArn": blue, "Weight": round(100 - green_percent)},
            {"TargetGroupArn": green, "Weight": round(green_percent)},
        ]
        elbv2 = self._client("elbv2", advanced["roleArn"], ELB_SESSION)
        # ECS reads the rule it rewrites (assumed; AmazonECSInfrastructureRolePolicyForLoadBalancers grants it).
        elbv2.describe_rules(RuleArns=[rule_arn])
        elbv2.modify_rule(RuleArn=rule_arn, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])
        # The load balancer applies the rule on its next reconciliation (every 0.25 s): the deployment reports the
        # step once traffic follows it.
        time.sleep(RULE_PROPAGATION_SECONDS)

    def _client(self, service: str, role_arn: str, session: str = "ECS"):
        """A client signing as ECS with the role's temporary credentials (kept while they are valid)."""
        credentials = self.plane.authority.assume_for_service(role_arn, ECS_PRINCIPAL, session)
        key = (service, role_arn, credentials["AccessKeyId"])
        with self.client_lock:
            client = self.clients.get(key)
            if client is not None:
                return client
            client = boto3.client(
                service,
                region_name=self.cfg.region,
                endpoint_url=self.cfg.aws_endpoint,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                config=self.boto,
            )
            self.clients[key] = client
            return client

    def _retire(self, service, keep: str) -> None:
        for group in self.groups_of(service):
            if group.id != keep:
                self._remove_group(group)

    def _remove_group(self, group: RevisionTasks) -> None:
        with self.lock:
            groups = self.groups.get(group.service_arn, [])
            if group in groups:
                groups.remove(group)
            self.retired[group.id] = group.service_arn

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

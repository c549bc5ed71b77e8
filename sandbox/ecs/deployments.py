"""ECS-native blue/green in the sandbox: `deploymentController: ECS` with strategy BLUE_GREEN, LINEAR or CANARY.

moto stores none of it (it drops `deploymentConfiguration` and has no service deployments): this is the sandbox's
ECS for such services, following the ECS API reference and developer guide ("Amazon ECS blue/green deployments",
"Lifecycle hooks for Amazon ECS service deployments"; the strategies' traffic steps: sandbox/ecs/strategies.py):

- A service revision is recorded at CreateService and at each UpdateService that changes the task definition (or
  forces a new deployment); each runs as a task group the agent keeps at the service's desired count (as it runs
  a task set), its tasks startedBy the group's `ecs-svc/<id>` and registered in the revision's target group.
- A service deployment moves a new revision through RECONCILE_SERVICE (when another deployment was in progress),
  PRE_SCALE_UP, SCALE_UP (its tasks run in the target group production does not use: the alternate of the pair),
  POST_SCALE_UP, TEST_TRAFFIC_SHIFT (the test listener rule forwards to it), POST_TEST_TRAFFIC_SHIFT, then per
  traffic step PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (the production listener rule's weights;
  LINEAR and CANARY wait their step bake time between steps), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME
  (bakeTimeInMinutes), CLEAN_UP (the previous revision's tasks stop), SUCCESSFUL.
- Lambda hooks are invoked, as the hook's role (assumed by ecs.amazonaws.com), with the event the ECS developer
  guide documents (executionId, lifecycleStage, resourceArn, executionDetails, hookDetails); IN_PROGRESS invokes
  again after callBackDelay (default 30 s) with the returned hookDetails; FAILED, an error, an invalid answer or the
  hook's timeout (timeoutConfiguration, default 1440 minutes, action ROLLBACK) rolls back. PAUSE hooks wait for
  ContinueServiceDeployment. Hooks of one stage run at the same time.
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
docs/dev/fidelity-ledger.md: a new service's first deployment runs every stage and hook with no source revision and
shifts production in one step; a move from CODE_DEPLOY starts a deployment of the same task definition (UpdateService
with loadBalancers triggers one); a second UpdateService during a deployment stops the first (STOPPED) and starts a
new one with RECONCILE_SERVICE; DescribeServices lists the deployment's revisions (PRIMARY IN_PROGRESS, ACTIVE)
until it ends. StopServiceDeployment takes ROLLBACK only (its API reference: "The valid values are ROLLBACK";
botocore's model also lists ABORT, which the sandbox refuses).
"""

from __future__ import annotations

import json
import logging
import threading
import time

import botocore.exceptions

from sandbox.ecs.revisions import ELB_SESSION, RevisionTasks, now
from sandbox.ecs.stages import Rollback, Stages, Stopped
from sandbox.ecs.strategies import ACTIVE_STATUSES, step_bake_minutes, traffic_steps, with_defaults

log = logging.getLogger("sandbox.ecs.deployments")
# How long a new revision's tasks may take to run before the deployment rolls back (assumed: ECS keeps trying).
SCALE_UP_TIMEOUT_MINUTES = 10
RULE_PROPAGATION_SECONDS = 0.6


class Native(Stages):
    """The sandbox's ECS-native deployments, run from what the patched ECS API tells it."""

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
            startedAt=now(),
            status="IN_PROGRESS",
            lifecycleStage="SCALE_UP",
            deploymentConfiguration=self.configs[service.arn],
            _group=group.id,
            _initial=True,
        )
        self.production[service.arn] = revision["serviceRevisionArn"]
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
            deployment.update(status="IN_PROGRESS", startedAt=now())
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
        step_minutes = step_bake_minutes(filled)
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
                "startedAt": now(),
                **({"serviceRevisionArn": source} if source else {}),
            }
            deployment["_updated"] = now()
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
            deployment.update(status=status, statusReason=reason, finishedAt=now(), _updated=now())
            if status == "STOPPED":
                deployment["stoppedAt"] = deployment["finishedAt"]
            deployment["lifecycleHookDetails"] = [
                h for h in deployment.get("lifecycleHookDetails", []) if h.get("status") in ("FAILED", "TIMED_OUT")
            ]
        log.info("service deployment %s %s: %s", deployment["serviceDeploymentArn"], status, reason)

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
        if name not in self.plane.balancers.in_use:
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
            self.plane.balancers.target_health(target_group, dict(t)).status
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

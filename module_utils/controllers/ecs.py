# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blue/green by ECS itself (the service's deploymentController ECS, strategy BLUE_GREEN, LINEAR or CANARY): an
UpdateService starts a service deployment, which runs the service's lifecycle hooks and shifts its listener rules.

Idempotent: a deployment in progress of the same task definition is attached to; a service whose current revision
runs it already changes nothing. AWS behaviour followed: ECS API reference (UpdateService, ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment, ContinueServiceDeployment) and the
developer guide's blue/green pages.
"""

from __future__ import annotations

from datetime import datetime

from ..aws import chunks, iso
from ..ecs.deployments import (
    ServiceDeploymentWatcher,
    active_deployment,
    controller_of,
    describe_deployment,
    describe_service,
    failed_hooks,
    failure_message,
    is_failure,
    list_deployments,
    paused_hook,
    revision_task_definitions,
    short,
    snapshot,
    stage_seconds,
)
from ..model.alarms import alarm_report
from ..model.ecs import ACTIVE_STATUSES, EcsPlanError, with_strategy
from ..model.traffic import TrafficPlanError, ecs_strategy
from .base import Controller
from .explain import hook_logged_reason

BLUE_GREEN_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
# DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs.
DESCRIBE_BATCH = 20
STATES = {"SUCCESSFUL": "succeeded", "STOPPED": "stopped", "ROLLBACK_SUCCESSFUL": "rolled_back",
          "ROLLBACK_FAILED": "failed"}  # fmt: skip


class EcsController(Controller):
    name = api = "ecs"
    lifecycle_unit = "stage"

    def __init__(self, module, names):
        super().__init__(module, names)
        self.cluster, self.service = names.get("cluster"), names.get("ecs_service")

    def short(self, deployment_id):
        return short(deployment_id)

    @staticmethod
    def lifecycle_seconds(deployment, progress):
        # ECS records no time per stage: the wait's timeline does ("stage X" lines, with their time).
        return stage_seconds(progress)

    # -- reading ------------------------------------------------------------------------------------------------

    def _service(self):
        try:
            return describe_service(self.client, self.cluster, self.service)
        except LookupError as e:
            self.module.fail_json(msg=f"{e}: provision the environment first")

    def history(self, statuses=None, limit=10, details=True, setting=True):
        service = self._service()
        wanted: list[str] = []
        for status in statuses or []:
            wanted.extend({"active": ACTIVE_STATUSES, "succeeded": ["SUCCESSFUL"]}.get(status, [status]))
        briefs = list_deployments(self.client, self.cluster, self.service, sorted(set(wanted)) or None)
        views = self._read([b["serviceDeploymentArn"] for b in briefs][:limit])
        return {
            "deployments": views,
            "serving": service.get("taskDefinition"),
            "service": {
                "controller": controller_of(service),
                "strategy": (service.get("deploymentConfiguration") or {}).get("strategy"),
                "task_definition": service.get("taskDefinition"),
                "current_service_deployment": service.get("currentServiceDeployment"),
            },
        }

    def serving(self):
        return self._service().get("taskDefinition")

    def active_id(self):
        active = active_deployment(self.client, self.cluster, self.service)
        return active["serviceDeploymentArn"] if active else None

    def describe(self, deployment_id, details=True):
        views = self._read([deployment_id])
        if not views:
            self.module.fail_json(msg=f"Service deployment {deployment_id} does not exist")
        return views[0]

    def _read(self, arns):
        """Views of the deployments, each with its target revision's task definition, in the order asked."""
        found = []
        for chunk in chunks(arns, DESCRIBE_BATCH):
            page = self.client.describe_service_deployments(serviceDeploymentArns=chunk, aws_retry=True)
            found.extend(page["serviceDeployments"])
        revisions = sorted(arn for arn in {(d.get("targetServiceRevision") or {}).get("arn") for d in found} if arn)
        definitions = {}
        for chunk in chunks(revisions, DESCRIBE_BATCH):
            definitions.update(revision_task_definitions(self.client, chunk))
        order = {arn: index for index, arn in enumerate(arns)}
        views = []
        for deployment in sorted(found, key=lambda d: order.get(d["serviceDeploymentArn"], len(order))):
            snap = snapshot(deployment)
            snap["task_definition"] = definitions.get(snap["target_revision_arn"])
            for key in ("createdAt", "startedAt", "finishedAt"):
                snap[key.replace("At", "_at").lower()] = iso(deployment.get(key))
            views.append(self.view(snap))
        return views

    def view(self, snap):
        replacement = snap["traffic"]["replacement"]
        return {
            **snap,
            "deployment_id": snap["service_deployment_arn"],
            "state": STATES.get(snap["status"], "active"),
            "task_definition_arn": snap.get("task_definition"),
            "is_rollback": False,
            "created": snap.get("created_at") or snap["timings"]["start_time"],
            "at": snap["stage"],
            "reason": snap["rollback"]["reason"] or snap["status_reason"],
            "traffic": {**snap["traffic"], "original": None if replacement is None else 100 - replacement},
            "lifecycle_seconds": None,
        }

    # -- acting -------------------------------------------------------------------------------------------------

    def _blue_green_service(self):
        service = self._service()
        if controller_of(service) != "ECS":
            self.module.fail_json(
                msg=f"service {self.service} uses the {controller_of(service)} deployment controller, not ECS: set "
                "bluegreen_controller: codedeploy, or move it to ECS-native blue/green "
                "(playbooks/migrate_controller.yml)"
            )
        strategy = (service.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING"
        if strategy not in BLUE_GREEN_STRATEGIES:
            self.module.fail_json(
                msg=f"service {self.service} deploys with strategy {strategy}, not blue/green: provision it with "
                "bluegreen_controller: ecs (deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY)"
            )
        return service

    def _configuration(self, service, traffic):
        """The service's deploymentConfiguration with this deployment's traffic plan (hooks and alarms kept)."""
        if not traffic:
            return None
        try:
            return with_strategy(service.get("deploymentConfiguration") or {}, ecs_strategy(traffic))
        except (EcsPlanError, TrafficPlanError) as e:
            self.module.fail_json(msg=f"{e}; nothing was changed")

    def present(self, result, task_definition, traffic):
        params = self.params
        result.setdefault("attached", False)
        if params["deployment_id"]:
            result.update(deployment_id=params["deployment_id"], attached=True)
            self.finish(result, self.wait(params["deployment_id"], result))
        service = self._blue_green_service()
        configuration = self._configuration(service, traffic)
        active = active_deployment(self.client, self.cluster, self.service)
        if active:
            arn, target = active["serviceDeploymentArn"], active.get("targetServiceRevisionArn")
            if revision_task_definitions(self.client, [target]).get(target) == task_definition:
                result.update(attached=True, deployment_id=arn)
                self.report(result, arn)
            self._replace(result, active)
        elif service.get("taskDefinition") == task_definition:
            # The service's current revision runs it already: nothing to deploy.
            arn = service.get("currentServiceDeployment")
            if arn:
                snap = snapshot(describe_deployment(self.client, arn))
                result.update(deployment_id=arn, status=snap["status"], deployment=self.view(snap))
            self.module.exit_json(**result)
        if self.module.check_mode:
            result.update(changed=True, msg=f"would deploy {task_definition} to {self.service}")
            self.module.exit_json(**result)
        request = {"cluster": self.cluster, "service": self.service, "taskDefinition": task_definition}
        if configuration:
            request["deploymentConfiguration"] = configuration
        arn = self.client.update_service(**request, aws_retry=True)["service"].get("currentServiceDeployment")
        if not arn:
            self.module.fail_json(msg=f"UpdateService started no service deployment of {self.service} (none current)")
        result.update(changed=True, deployment_id=arn)
        self.report(result, arn)

    def _replace(self, result, active):
        arn = active["serviceDeploymentArn"]
        if not self.params["replace_active"]:
            self.module.fail_json(
                msg=f"service deployment {short(arn)} of another revision is {active.get('status')}: wait for it, "
                "roll it back (rollback.yml), or set replace_active",
                active_deployment_id=arn,
                deployment_id=arn,
                **result,
            )
        if self.module.check_mode:
            result.update(changed=True, msg="would roll back the deployment in progress, then deploy")
            self.module.exit_json(**result)
        self.roll_back_now(arn)
        self.watcher(arn).wait(lambda s, t: False, self.params["wait_timeout"])
        result.update(changed=True, replaced_deployment_id=arn)

    def report(self, result, arn):
        if self.params["wait"]:
            self.finish(result, self.wait(arn, result))
        snap = snapshot(describe_deployment(self.client, arn))
        result["status"] = snap["status"]
        self.finish(result, snap)

    def roll_back_now(self, deployment_id):
        self.client.stop_service_deployment(serviceDeploymentArn=deployment_id, stopType="ROLLBACK", aws_retry=True)

    def _target(self):
        if self.params["deployment_id"]:
            return self.params["deployment_id"]
        active = active_deployment(self.client, self.cluster, self.service)
        return active["serviceDeploymentArn"] if active else None

    def stopped(self, result):
        if not self.params["rollback"]:
            self.module.fail_json(msg="ECS stops a service deployment only with rollback (stopType ROLLBACK)")
        if self.params["follow"] and self.params["deployment_id"]:
            self.finish(result, self.wait(self.params["deployment_id"], result), expect_failure=True)
        arn = self._target()
        if arn is None:
            self.module.exit_json(msg="no service deployment in progress: nothing to stop", **result)
        snap = snapshot(describe_deployment(self.client, arn))
        result.update(deployment_id=arn, status=snap["status"], deployment=self.view(snap))
        if snap["status"] not in ("PENDING", "IN_PROGRESS"):
            self.module.exit_json(msg=f"service deployment {short(arn)} is {snap['status']}: nothing to stop", **result)
        if self.module.check_mode:
            result["changed"] = True
            self.module.exit_json(**result)
        self.roll_back_now(arn)
        result["changed"] = True
        if not self.params["wait"]:
            self.module.exit_json(**result)
        self.finish(result, self.wait(arn, result), expect_failure=True)

    def continued(self, result):
        if self.params["follow"] and self.params["deployment_id"]:
            # A later step of the action plugin's wait: the deployment was continued already, only follow it.
            self.finish(result, self.wait(self.params["deployment_id"], result))
        arn = self._target()
        if arn is None:
            self.module.fail_json(msg="no service deployment in progress: nothing to continue", **result)
        snap = snapshot(describe_deployment(self.client, arn))
        result.update(deployment_id=arn, status=snap["status"], deployment=self.view(snap))
        hook = paused_hook(snap) or {}
        if not hook:
            self.module.fail_json(
                msg=f"service deployment {short(arn)} ({snap['status']}, stage {snap['stage']}) is not paused at a "
                "PAUSE hook: nothing to continue (set codedeploy_manual_promote_minutes to pause before production "
                "traffic)",
                **result,
            )
        if self.module.check_mode:
            result["changed"] = True
            self.module.exit_json(**result)
        self.client.continue_service_deployment(
            serviceDeploymentArn=arn, hookId=hook["hook_id"], action="CONTINUE", aws_retry=True
        )
        result["changed"] = True
        if not self.params["wait"]:
            self.module.exit_json(**result)
        self.finish(result, self.wait(arn, result))

    # -- waiting and ending -------------------------------------------------------------------------------------

    def watcher(self, deployment_id):
        return ServiceDeploymentWatcher(self.client, deployment_id)

    def own_condition(self, wait_for):
        if wait_for.get("paused"):
            return (lambda snap, timeline: paused_hook(snap) is not None), "a PAUSE hook awaiting promote"
        if wait_for.get("stage"):
            stage = wait_for["stage"]
            return (lambda snap, timeline: snap["stage"] == stage), f"stage {stage}"
        return None

    def is_failure(self, snap):
        return is_failure(snap)

    def failure_message(self, snap):
        return failure_message(snap)

    def explanations(self, snap):
        return (
            (bool(_failed_lambda_hooks(snap)), "hook_failure_reason", "The hook said", "logs", _hook_reasons,
             "the failed hook's log for its reason"),
            (bool(snap["alarms"]["triggered"] and snap["timings"]["start_time"]), "alarm_failure_reason",
             "CloudWatch says", "cloudwatch", _alarm_reasons, "why the alarms fired"),
        )  # fmt: skip


def _failed_lambda_hooks(snap):
    return [hook for hook in failed_hooks(snap) if hook["target_type"] == "AWS_LAMBDA"]


def _hook_reasons(logs_client, snap):
    """What each failed Lambda hook logged as its reason for this service deployment; None if nothing."""
    deployment = short(snap["service_deployment_arn"])
    reasons = [hook_logged_reason(logs_client, hook["target"], deployment) for hook in _failed_lambda_hooks(snap)]
    return "; ".join(r for r in reasons if r) or None


def _alarm_reasons(cloudwatch_client, snap):
    """Why the alarms that rolled the deployment back fired, and their target groups' requests."""
    end = snap["timings"]["end_time"]
    return alarm_report(
        cloudwatch_client,
        snap["alarms"]["triggered"],
        datetime.fromisoformat(snap["timings"]["start_time"]),
        datetime.fromisoformat(end) if end else None,
    )

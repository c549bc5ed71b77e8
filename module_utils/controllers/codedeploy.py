# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blue/green through AWS CodeDeploy (the service's deploymentController CODE_DEPLOY): a deployment of an AppSpec in
the service's deployment group, its lifecycle events, and its two task sets.

Idempotent: a deployment of the same revision (the same AppSpec sha256) that is active, or is the group's last
and succeeded, is attached to rather than created again. AWS behaviour followed: CodeDeploy API reference
(CreateDeployment, GetDeployment, StopDeployment, ContinueDeployment, GetApplicationRevision) and user guide.
"""

from __future__ import annotations

from ..codedeploy.appspec import AppSpecError, build_appspec, parse, render_json, sha256, task_definition_of
from ..codedeploy.deployments import (
    ACTIVE_STATUSES,
    EVENT_STARTED,
    TERMINAL_STATUSES,
    DeploymentWatcher,
    appspec_of,
    deployments_of_group,
    event_status,
    failed_event,
    failure_message,
    get_deployment,
    get_ecs_targets,
    is_failure,
    list_deployment_ids,
    revision_sha256,
    snapshot,
)
from ..codedeploy.explain import alarm_failure_reason, hook_failure_reason, hook_function, replacement_task_failure
from ..model.alarms import activated_alarms
from ..model.traffic import codedeploy_config
from ..wait import AwsErrors
from .base import Controller

# The view's neutral state of each status.
STATES = {"Succeeded": "succeeded", "Failed": "failed", "Stopped": "stopped"}


class CodeDeployController(Controller):
    name = api = "codedeploy"
    lifecycle_unit = "event"

    def __init__(self, module, names):
        super().__init__(module, names)
        self.application, self.group = names.get("codedeploy_application"), names.get("deployment_group")

    def _fail_aws(self, error, msg, **extra):
        self.module.fail_json_aws(error, msg=msg, **extra)

    # -- reading ------------------------------------------------------------------------------------------------

    def _statuses(self, statuses):
        found: list[str] = []
        for status in statuses or []:
            found.extend({"active": ACTIVE_STATUSES, "succeeded": ["Succeeded"]}.get(status, [status]))
        return sorted(set(found)) or None

    def _group_info(self):
        try:
            return self.client.get_deployment_group(
                applicationName=self.application, deploymentGroupName=self.group, aws_retry=True
            )["deploymentGroupInfo"]
        except (
            self.client.exceptions.DeploymentGroupDoesNotExistException,
            self.client.exceptions.ApplicationDoesNotExistException,
        ):
            self.module.fail_json(
                msg=f"Deployment group {self.group} of application {self.application} does not exist: provision "
                "the environment first"
            )

    def history(self, statuses=None, limit=10, details=True, setting=True):
        infos = deployments_of_group(self.client, self.application, self.group, self._statuses(statuses), limit)
        appspecs: dict[str, str] = {}  # a revision deployed several times is read once
        views = [self.view(self._snapshot(info, details, appspecs)) for info in infos]
        # What production serves: the revision of the group's newest successful deployment (known from a list of
        # the successful ones; see serving()).
        serving = views[0]["task_definition_arn"] if views and statuses == ["succeeded"] else None
        found = {"deployments": views, "serving": serving}
        return {**found, "deployment_group": self.group_view()} if setting else found

    def active_id(self):
        # One ListDeployments: a group runs one deployment at a time.
        active = list_deployment_ids(self.client, self.application, self.group, ACTIVE_STATUSES)
        return active[0] if active else None

    def serving(self):
        return self.history(statuses=["succeeded"], limit=1, details=False, setting=False)["serving"]

    def _snapshot(self, info, details, appspecs):
        targets = get_ecs_targets(self.client, info["deploymentId"]) if details else []
        rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        rollback = get_deployment(self.client, rollback_id) if rollback_id else None
        return snapshot(info, targets, rollback, appspec_of(self.client, info, appspecs))

    def describe(self, deployment_id, details=True):
        try:
            info = get_deployment(self.client, deployment_id)
        except self.client.exceptions.DeploymentDoesNotExistException:
            self.module.fail_json(msg=f"Deployment {deployment_id} does not exist")
        return self.view(self._snapshot(info, details, {}))

    def group_view(self):
        from ..codedeploy.groups import group_view  # noqa: PLC0415 - only the info module's group read needs it

        return group_view(self._group_info())

    def view(self, snap):
        rollback = snap["rollback_info"]
        state = STATES.get(snap["status"], "active")
        if rollback.get("rollback_deployment_id") and rollback.get("rollback_deployment_status") == "Succeeded":
            state = "rolled_back"
        error = snap["error_information"]
        return {
            **snap,
            "state": state,
            "created": snap["timings"]["create_time"],
            "at": next(
                (e["lifecycle_event_name"] for e in reversed(snap["lifecycle_events"]) if e["status"] != "Pending"),
                None,
            ),
            "reason": error.get("message"),
            "lifecycle_seconds": snap["timings"]["lifecycle_events"],
        }

    # -- acting -------------------------------------------------------------------------------------------------

    def _appspec(self, task_definition):
        placement = self.params["placement"] or {}
        missing = [k for k in ("container_name", "container_port") if not placement.get(k)]
        if missing:
            self.module.fail_json(
                msg=f"placement needs {', '.join(missing)} to deploy through CodeDeploy (the AppSpec)"
            )
        try:
            appspec = build_appspec(
                task_definition_arn=task_definition,
                container_name=placement["container_name"],
                container_port=int(placement["container_port"]),
                platform_version=placement.get("platform_version"),
                # None: the service's current network settings (CodeDeploy takes all of them or none).
                network_configuration=placement.get("network_configuration"),
                hooks=self.names.get("hook_functions") or {},
            )
        except AppSpecError as e:
            self.module.fail_json(msg=f"Cannot render the AppSpec: {e}")
        return render_json(appspec)

    def _last_attempted(self):
        deployment_id = (self._group_info().get("lastAttemptedDeployment") or {}).get("deploymentId")
        return get_deployment(self.client, deployment_id) if deployment_id else None

    def _revision(self, info):
        try:
            content = appspec_of(self.client, info) if info else None
            return task_definition_of(parse(content)) if content else None
        except (AppSpecError, ValueError):
            return None

    def present(self, result, task_definition, traffic):
        if self.params["deployment_id"]:
            result.update(deployment_id=self.params["deployment_id"], attached=True)
            self.report(result, self.params["deployment_id"])
        # A rollback redeploys an earlier AppSpec as it was (redeploy()).
        content = getattr(self, "_content", None) or self._appspec(task_definition)
        digest = sha256(content)
        result.setdefault("attached", False)
        last = self._last_attempted()
        if self.module._diff:
            result["diff"] = {
                "before": {"revision_sha256": revision_sha256(last), "task_definition": self._revision(last)},
                "after": {"revision_sha256": digest, "task_definition": task_definition},
            }
        active = deployments_of_group(self.client, self.application, self.group, ACTIVE_STATUSES)
        same = [info for info in active if revision_sha256(info) == digest]
        other = [info for info in active if revision_sha256(info) != digest]
        deployment_id = None
        if same:
            deployment_id, result["attached"] = same[0]["deploymentId"], True
        elif other:
            self._replace(result, other[0])
        elif (
            last is not None
            and last.get("status") == "Succeeded"
            and last.get("creator") != "codeDeployRollback"  # a rollback restores a revision; it did not deploy it
            and revision_sha256(last) == digest
        ):
            deployment_id, result["attached"] = last["deploymentId"], True
        if deployment_id is None:
            result["changed"] = True
            if self.module.check_mode:
                self.module.exit_json(**result)
            deployment_id = self._create(content, digest, traffic)
        result["deployment_id"] = deployment_id
        self.report(result, deployment_id)

    def _create(self, content, digest, traffic):
        request = {
            "applicationName": self.application,
            "deploymentGroupName": self.group,
            "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": digest}},
        }
        if traffic:
            request["deploymentConfigName"] = codedeploy_config(traffic, self.names)["name"]
        if self.params["description"]:
            request["description"] = self.params["description"]
        try:
            return self.client.create_deployment(aws_retry=True, **request)["deploymentId"]
        except self.client.exceptions.DeploymentLimitExceededException as e:
            self._fail_aws(
                e,
                "Unable to create the deployment: another deployment became active in the group meanwhile; run "
                "again to attach to it or replace it",
            )

    def _replace(self, result, blocking):
        """Another revision is active: fail naming it, or (replace_active) stop it with rollback and wait."""
        described = self._revision(blocking) or "another revision"
        if not self.params["replace_active"]:
            self.module.fail_json(
                msg=f"Deployment {blocking['deploymentId']} ({blocking['status']}, {described}) is active in "
                f"deployment group {self.group}: only one deployment can run at a time. Wait for it, stop it "
                "(rollback.yml), or set replace_active=true to stop it with rollback and deploy this revision.",
                active_deployment_id=blocking["deploymentId"],
                **result,
            )
        result.update(changed=True, replaced_deployment_id=blocking["deploymentId"])
        if self.module.check_mode:
            self.module.exit_json(**result)
        self._stop(blocking["deploymentId"], rollback=True)
        stopped, _timeline, _reached, timed_out = self.watcher(blocking["deploymentId"]).wait(
            lambda s, t: False, self.params["wait_timeout"]
        )
        if timed_out:
            self.module.fail_json(
                msg=f"Stopped deployment {blocking['deploymentId']}, but it (or its rollback) had not finished "
                f"after {self.params['wait_timeout']}s; nothing new was deployed",
                **result,
            )
        result["replaced_deployment"] = stopped

    def report(self, result, deployment_id):
        """Wait (unless told not to, or in check mode), then end with the deployment, failing on a rollback."""
        if self.module.check_mode or not self.params["wait"]:
            info = get_deployment(self.client, deployment_id)
            snap = snapshot(info, appspec=appspec_of(self.client, info))
            result["status"] = snap["status"]
            self.finish(result, snap)
        self.finish(result, self.wait(deployment_id, result))

    def redeploy(self, result, previous, traffic):
        """A rollback after a deployment: the previous deployment's AppSpec as it was."""
        self.params["description"] = f"rollback to {previous['task_definition_arn'].rsplit('/', 1)[-1]}"
        self._content = previous["appspec_content"]
        self.present(result, previous["task_definition_arn"], traffic)

    def redeployable(self, deployment):
        return bool(deployment.get("appspec_content"))

    def _stop(self, deployment_id, rollback):
        try:
            return self.client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=rollback, aws_retry=True)
        except AwsErrors as e:
            self._fail_aws(e, f"Unable to stop deployment {deployment_id}")

    def roll_back_now(self, deployment_id):
        self._stop(deployment_id, rollback=True)

    def _target(self):
        """The deployment named by deployment_id, or the group's active one (None when there is none)."""
        if self.params["deployment_id"]:
            try:
                return get_deployment(self.client, self.params["deployment_id"])
            except self.client.exceptions.DeploymentDoesNotExistException:
                self.module.fail_json(msg=f"Deployment {self.params['deployment_id']} does not exist")
        active = deployments_of_group(self.client, self.application, self.group, ACTIVE_STATUSES)
        return active[0] if active else None

    def stopped(self, result):
        info = self._target()
        if info is None:
            self.module.exit_json(msg="No active deployment in the group: nothing to stop", **result)
        result.update(deployment_id=info["deploymentId"], status=info["status"])
        if info["status"] in TERMINAL_STATUSES and not self.params["follow"]:
            result["msg"] = f"Deployment {info['deploymentId']} already ended {info['status']}"
            self.finish(result, snapshot(info, appspec=appspec_of(self.client, info)), expect_failure=True)
        result["changed"] = True
        if self.module.check_mode:
            self.module.exit_json(**result)
        if not self.params["follow"]:
            response = self._stop(info["deploymentId"], self.params["rollback"])
            result.update(stop_status=response.get("status"), stop_message=response.get("statusMessage"))
        if not self.params["wait"]:
            self.module.exit_json(**result)
        snap = self.wait(info["deploymentId"], result)
        rollback = snap["rollback_info"]
        if rollback.get("rollback_deployment_id") and rollback.get("rollback_deployment_status") != "Succeeded":
            result["deployment"] = self.view(snap)
            self.module.fail_json(msg=failure_message(snap), **result)
        self.finish(result, snap, expect_failure=True)

    def continued(self, result):
        info = self._target()
        if info is None:
            self.module.fail_json(msg="No active deployment in the group: nothing to continue", **result)
        deployment_id, status = info["deploymentId"], info["status"]
        result.update(deployment_id=deployment_id, status=status)
        if self.params["follow"]:
            self.finish(result, self.wait(deployment_id, result))
        if status != "Ready":
            snap = snapshot(info, get_ecs_targets(self.client, deployment_id), appspec=appspec_of(self.client, info))
            promoted = event_status(snap, "AllowTraffic") not in (None, "Pending")
            if status == "Succeeded" or (status in ACTIVE_STATUSES and promoted):
                result.update(deployment=self.view(snap), msg=f"Deployment {deployment_id} is past Ready already")
                self.module.exit_json(**result)
            self.module.fail_json(
                msg=f"Deployment {deployment_id} is {status}, not waiting at Ready: "
                + (failure_message(snap) if status in TERMINAL_STATUSES else "promote it once it reaches Ready"),
                **result,
            )
        result["changed"] = True
        if self.module.check_mode:
            self.module.exit_json(**result)
        try:
            self.client.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT", aws_retry=True)
        except AwsErrors as e:
            self._fail_aws(e, f"Unable to continue deployment {deployment_id}")
        if not self.params["wait"]:
            self.module.exit_json(**result)
        self.finish(result, self.wait(deployment_id, result))

    # -- waiting and ending -------------------------------------------------------------------------------------

    def watcher(self, deployment_id):
        return DeploymentWatcher(self.client, deployment_id)

    def own_condition(self, wait_for):
        if wait_for.get("paused"):
            return (lambda snap, timeline: snap["status"] == "Ready"), "status Ready"
        if wait_for.get("lifecycle_event"):
            name = wait_for["lifecycle_event"]
            succeeded = wait_for.get("lifecycle_event_status", "succeeded") == "succeeded"
            wanted = ("Succeeded",) if succeeded else EVENT_STARTED
            return (lambda snap, timeline: event_status(snap, name) in wanted), f"{name} {'/'.join(wanted)}"
        return None

    def is_failure(self, snap):
        return is_failure(snap)

    def failure_message(self, snap):
        return failure_message(snap)

    def explanations(self, snap):
        event = failed_event(snap)
        name = event["lifecycle_event_name"] if event else None
        return (
            (bool(name and hook_function(snap, name)), "hook_failure_reason", "The hook said", "logs",
             hook_failure_reason, "the failed hook's log for its reason"),
            (name == "Install", "replacement_task_failure", "ECS says", "ecs",
             replacement_task_failure, "why the replacement tasks stopped"),
            (bool(activated_alarms(snap["error_information"].get("message", ""))), "alarm_failure_reason",
             "CloudWatch says", "cloudwatch", alarm_failure_reason, "why the alarms fired"),
        )  # fmt: skip

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way of running a blue/green deployment, behind the one deployment module (library/bluegreen_deployment.py)
and the one info module (library/bluegreen_deployment_info.py).

A controller knows its own API: how to find the active deployment, start one (attaching to one of the same
revision), stop it, continue it, read its history, and why one failed where its API does not say. What every
controller does alike is written here once: the wait (module_utils/wait.py), the end of a run (fail with the
reason and where production is, or exit), a rollback (stop the active deployment with rollback, or redeploy the
previous revision through the same hooks), and the one view of a deployment the playbooks read.

Adding a controller: a subclass in a file of its own beside this one, registered in controllers/__init__.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..aws import retry_decorator
from ..model.decisions import DecisionError, rollback_target
from ..wait import AwsErrors, condition_for, wait_as_asked

# The neutral state of a deployment, whichever controller ran it (the view's `state`).
STATES = ("active", "succeeded", "failed", "stopped", "rolled_back")


class Controller(ABC):
    """The operations of one deployment controller; `module` is the AnsibleAWSModule, `names` the model's names of
    the service (module_utils/model/names.py)."""

    name = ""
    # The AWS service whose API runs the deployments (a client of it: `client`).
    api = ""
    # The lifecycle's unit in lines and summaries: CodeDeploy's "event", ECS's "stage".
    lifecycle_unit = ""

    def __init__(self, module, names):
        self.module = module
        self.params = module.params
        self.names = names

    @property
    def client(self):
        if not hasattr(self, "_client"):
            self._client = self.module.client(self.api, retry_decorator=self.retry())
        return self._client

    # -- reading ------------------------------------------------------------------------------------------------

    @abstractmethod
    def history(self, statuses=None, limit=10, details=True, setting=True):
        """{"deployments": [views, newest first], "serving": the task definition production serves}; `setting`:
        with where the deployments run as the controller describes it (CodeDeploy's deployment group)."""

    @abstractmethod
    def active_id(self):
        """The active deployment's id, in as few calls as the API allows (None when none is active)."""

    @abstractmethod
    def describe(self, deployment_id, details=True):
        """The view of one deployment (`details`: with what takes more calls to read, as history())."""

    @abstractmethod
    def serving(self):
        """The task definition production serves."""

    # -- acting -------------------------------------------------------------------------------------------------

    @abstractmethod
    def present(self, result, task_definition, traffic):
        """Deploy `task_definition` with the traffic plan `traffic` (None = the environment's own), or attach to a
        deployment of it; wait as the options say; exit or fail through finish()."""

    @abstractmethod
    def stopped(self, result):
        """Stop the active (or named) deployment, with rollback; exit or fail through finish()."""

    @abstractmethod
    def continued(self, result):
        """Release a deployment that waits for promote.yml; exit or fail through finish()."""

    @abstractmethod
    def roll_back_now(self, deployment_id):
        """Stop a running deployment with rollback (the wait's on_timeout=rollback)."""

    def rolled_back(self, result):
        """Put production back on the previous version: stop the active deployment with rollback; with none
        active, deploy the newest earlier revision that succeeded, blue/green through the same hooks, with the
        plan of option `traffic` (rollback.yml: all at once)."""
        if self.params["follow"]:
            # A later step of the action plugin's wait: follow what the first step did.
            result["rollback_mode"] = self.params["rollback_mode"]
            if result["rollback_mode"] == "stopped":
                self.stopped(result)
            self.present(result, None, None)
        # During a deployment every call before the stop delays production's way back: the id alone.
        active = self.active_id()
        if active:
            self.params["deployment_id"] = active
            result.update(rollback_mode="stopped", resume={"rollback_mode": "stopped"})
            self.stopped(result)
        succeeded = self.history(statuses=["succeeded"], limit=20, details=False, setting=False)
        try:
            previous = rollback_target(succeeded["deployments"], succeeded["serving"], self.redeployable)
        except DecisionError as e:
            self.module.fail_json(msg=str(e), **result)
        result.update(
            rollback_mode="redeployed",
            rollback_to=previous["task_definition_arn"],
            resume={"rollback_mode": "redeployed"},
        )
        self.redeploy(result, previous, self.params["traffic"])

    def redeploy(self, result, previous, traffic):
        """Deploy an earlier deployment's revision again (a rollback after a deployment)."""
        self.present(result, previous["task_definition_arn"], traffic)

    def redeployable(self, deployment):
        """An earlier deployment can be deployed again as it was."""
        return True

    # -- waiting and ending -------------------------------------------------------------------------------------

    @abstractmethod
    def watcher(self, deployment_id):
        """A controllers.wait.Watcher of the deployment."""

    def wait_condition(self, wait_for):
        """(condition over a snapshot and its timeline, its description) for the option `wait_for`."""
        return condition_for(wait_for, self.own_condition)

    def own_condition(self, wait_for):
        """The (condition, description) of a point only this controller has (a lifecycle event, a stage), or None."""
        return

    @abstractmethod
    def is_failure(self, snap):
        """The deployment did not move production to its revision."""

    @abstractmethod
    def failure_message(self, snap):
        """One paragraph for the operator: what failed, why, and what serves production now."""

    def explanations(self, snap):
        """Why it failed where the controller's API does not say: (wanted, result key, prefix, AWS service to
        read, reader(client, snap), what it reads) for each."""
        return ()

    @abstractmethod
    def view(self, snap):
        """The snapshot with the keys every controller's deployment has (see library/bluegreen_deployment_info)."""

    @staticmethod
    def lifecycle_seconds(deployment, progress):
        """Seconds per lifecycle event or stage, from the deployment and every progress line of the wait (the action
        plugin calls it once the wait is over)."""
        return deployment.get("lifecycle_seconds") or {}

    def short(self, deployment_id):
        """How a job log names the deployment."""
        return deployment_id

    def wait(self, deployment_id, result):
        """Wait as the options say; fills result; returns the last snapshot."""
        return wait_as_asked(
            self.module,
            self.watcher(deployment_id),
            deployment_id,
            result,
            wait_for=self.wait_condition(self.params["wait_for"]),
            what=f"deployment {self.short(deployment_id)}",
            roll_back=lambda: self.roll_back_now(deployment_id),
            failure_message=self.failure_message,
        )

    def finish(self, result, snap, expect_failure=False):
        """Exit with the deployment, or fail with why it failed (and what its API does not say) when it failed
        and that was not the point (a stop or a rollback is expected to end so)."""
        if snap is not None:
            result["deployment"] = self.view(snap)
        if snap is None or not self.is_failure(snap) or expect_failure or not self.params["fail_on_rollback"]:
            if self.params["state"] == "rolled_back" and not self.module.check_mode:
                result["serving"] = self.serving()
            self.module.exit_json(**result)
        message = self.failure_message(snap)
        for wanted, key, prefix, service, read, what in self.explanations(snap):
            if not wanted:
                continue
            try:
                found = read(self.module.client(service, retry_decorator=self.retry()), snap)
            except AwsErrors as e:
                self.module.warn(f"Could not read {what}: {e}")
                continue
            if found:
                result[key] = found
                message += f" {prefix}: {found}"
        self.module.fail_json(msg=message, **result)

    @staticmethod
    def retry():
        return retry_decorator()

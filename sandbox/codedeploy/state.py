"""A deployment's state and its hook executions: every write goes through here, one transaction each.

The API threads (CreateDeployment, StopDeployment, ContinueDeployment, PutLifecycleEventHookExecutionStatus) and
the engine's threads (one per running deployment) change the same records: each change is a read-modify-write
under the store's lock, so none is lost, and a restarted service resumes from what was last written.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable

from sandbox.codedeploy.model import EVENTS, ApiError, now
from sandbox.codedeploy.store import Store


def group_key(body: dict) -> str:
    return f"{body['applicationName']}/{body['deploymentGroupName']}"


class Deployments:
    def __init__(self, store: Store):
        self.store = store

    # --- reads -------------------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> dict:
        body = self.store.get("deployment", deployment_id)
        if body is None:
            raise KeyError(deployment_id)
        return body

    def all(self, group: str | None = None) -> list[dict]:
        """Every deployment (of `group`, application/group), oldest first."""
        return self.store.all("deployment", group)

    def last_successful(self, group: str) -> dict | None:
        return next((d for d in reversed(self.all(group)) if d["status"] == "Succeeded"), None)

    def hook(self, execution_id: str) -> dict | None:
        return self.store.get("hook", execution_id)

    # --- writes ------------------------------------------------------------------------------------------

    def create(self, body: dict) -> dict:
        with self.store.transaction():
            self.store.put("deployment", body["deploymentId"], body, parent=group_key(body))
        return body

    def update(self, deployment_id: str, change: Callable[[dict], object]) -> dict:
        """Read-modify-write of one deployment, atomic against the other threads."""
        with self.store.transaction():
            body = self.get(deployment_id)
            change(body)
            self.store.put("deployment", deployment_id, body, parent=group_key(body))
        return body

    def start_hook(self, deployment_id: str, event: str, function: str) -> str:
        """A new hook execution for `event`, pending until its function reports, linked from the deployment."""
        execution_id = str(uuid.uuid4())
        with self.store.transaction():
            record = {"id": execution_id, "deploymentId": deployment_id, "event": event, "function": function}
            self.store.put("hook", execution_id, {**record, "status": "Pending"}, parent=deployment_id)
            self.update(deployment_id, lambda d: d["_engine"]["hooks"].__setitem__(event, execution_id))
        return execution_id

    def report_hook(self, deployment_id: str, execution_id: str | None, status: str | None) -> dict:
        """PutLifecycleEventHookExecutionStatus: the errors AWS answers, in the order it checks."""
        if status not in ("Succeeded", "Failed"):
            raise ApiError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status} is not valid: use Succeeded or Failed.",
            )
        with self.store.transaction():
            hook = self.hook(execution_id or "")
            if hook is None or hook["deploymentId"] != deployment_id:
                raise ApiError(
                    "InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution ID {execution_id} is not valid for {deployment_id}.",
                )
            if hook["status"] != "Pending":
                raise ApiError(
                    "LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event {hook['event']} of {deployment_id} is already completed.",
                )
            hook.update(status=status, reportedAt=now())
            self.store.put("hook", hook["id"], hook, parent=deployment_id)
        return hook

    def create_rollback(self, failed_id: str, rollback: dict) -> None:
        """The rollback deployment, and the failed one's rollbackInfo pointing at it, in one transaction."""
        with self.store.transaction():
            self.create(rollback)
            self.update(
                failed_id,
                lambda d: d.__setitem__(
                    "rollbackInfo",
                    {
                        "rollbackDeploymentId": rollback["deploymentId"],
                        "rollbackMessage": (
                            f"Deployment {failed_id} will be rolled back by deployment {rollback['deploymentId']}"
                        ),
                    },
                ),
            )


def new_deployment(
    group: dict,
    request: dict,
    config_name: str,
    *,
    creator: str,
    previous: dict | None,
    rollback_of: dict | None = None,
) -> dict:
    """A new deployment's record (Created), as CreateDeployment makes it; `previous`: the group's last success."""
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
    if previous:
        body["previousRevision"] = previous["revision"]
    return body


def _deployment_id() -> str:
    return "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))

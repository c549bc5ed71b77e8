"""The sandbox's CodeDeploy engine: the deployments the API creates, each run on a thread of its own.

Split by concern:

    state.py      a deployment's state and its hook executions; every write goes through `Deployments`
    lifecycle.py  the documented ECS blue/green sequence, step by step, and rollback (`Lifecycle`)
    effects.py    what a deployment does to ECS, ELB, Lambda, CloudWatch and IAM, through their APIs (`Aws`);
                  `Abort` is the one way a deployment ends early
    views.py      what GetDeployment and BatchGetDeploymentTargets show of a deployment
    engine.py     this: the threads, and the requests the API hands over (stop, continue, hook status)
"""

from __future__ import annotations

import logging
import threading

from sandbox.codedeploy import views
from sandbox.codedeploy.effects import Aws
from sandbox.codedeploy.lifecycle import Lifecycle
from sandbox.codedeploy.model import ACTIVE, TERMINAL, ApiError
from sandbox.codedeploy.state import Deployments, group_key, new_deployment
from sandbox.codedeploy.store import Store

log = logging.getLogger("sandbox.codedeploy.engine")


class Engine:
    def __init__(self, store: Store, cfg):
        self.store, self.cfg = store, cfg
        self.deployments = Deployments(store)
        self.aws = Aws(cfg)
        self.lifecycle = Lifecycle(self.deployments, self.aws, store, cfg)
        self.threads: dict[str, threading.Thread] = {}
        self.threads_lock = threading.Lock()

    # --- requests from the API --------------------------------------------------------------------------

    def check_group_resources(self, body: dict) -> None:
        """CreateDeploymentGroup's checks of the group's service, target groups, listeners and role (ApiError)."""
        self.aws.check_group_resources(body, self.group_arn(body["applicationName"], body["deploymentGroupName"]))

    def group_arn(self, application: str, group: str) -> str:
        from sandbox.config import ACCOUNT_ID

        return f"arn:aws:codedeploy:{self.cfg.region}:{ACCOUNT_ID}:deploymentgroup:{application}/{group}"

    def role_of(self, body: dict) -> tuple[str | None, str]:
        """The service role CodeDeploy acts as for a deployment: its group's (None when the group is gone)."""
        group = self.store.get("group", f"{body['applicationName']}/{body['deploymentGroupName']}") or {}
        return group.get("serviceRoleArn"), self.group_arn(body["applicationName"], body["deploymentGroupName"])

    def create(self, group: dict, request: dict, config_name: str) -> dict:
        """CreateDeployment's record (the caller holds the store's transaction and checked for an active one)."""
        body = new_deployment(
            group,
            request,
            config_name,
            creator="user",
            previous=self.deployments.last_successful(group_key(group)),
        )
        return self.deployments.create(body)

    def public(self, body: dict) -> dict:
        return views.deployment_info(body)

    def targets(self, body: dict) -> list[dict]:
        target = body["_engine"].get("target")
        with self.aws.acting_as(*self.role_of(body)):
            live = self.aws.live_task_sets(target) if body["status"] in ACTIVE else {}
        return views.deployment_targets(body, live)

    def request_stop(self, body: dict, rollback: bool | None) -> dict:

        if body["status"] in TERMINAL:
            raise ApiError(
                "DeploymentAlreadyCompletedException", f"The deployment {body['deploymentId']} is already completed."
            )

        def mark(d):
            d["_engine"]["stop"] = {"rollback": rollback}

        self.deployments.update(body["deploymentId"], mark)
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

        self.deployments.update(body["deploymentId"], mark)
        return {}

    def hook_status(self, body: dict, execution_id: str | None, status: str | None) -> dict:
        hook = self.deployments.report_hook(body["deploymentId"], execution_id, status)
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
        for body in self.deployments.all():
            if body["status"] in ACTIVE:
                log.info("resuming %s (%s)", body["deploymentId"], body["status"])
                self.start(body["deploymentId"])

    def run(self, deployment_id: str) -> None:
        with self.aws.acting_as(*self.role_of(self.deployments.get(deployment_id))):
            rollback_id = self.lifecycle.run(deployment_id)
        if rollback_id:
            self.start(rollback_id)

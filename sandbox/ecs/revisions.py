"""The state of ECS-native deployments: each service's revisions and deployments as the ECS API shows them, the task
groups the agent runs for them, and the answers of the operations moto lacks (ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions) and of the requests that stop or continue a deployment.
sandbox/ecs/deployments.py runs the deployments; sandbox/ecs/deployment_patches.py answers the API with these.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.config import Config as BotoConfig

from sandbox.ecs.strategies import ACTIVE_STATUSES, BLUE_GREEN
from sandbox.iam.authority import Denied, RoleNotAssumable

ECS_PRINCIPAL = "ecs.amazonaws.com"
# The session name ECS uses with the load balancer role (ECS developer guide, "Amazon ECS infrastructure IAM role for
# load balancers": CloudTrail shows roleSessionName ECSNetworkingWithELB).
ELB_SESSION = "ECSNetworkingWithELB"


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


def _epoch(value) -> float:
    """A timestamp parameter as the JSON protocol sends it (epoch seconds), or a datetime."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


def now() -> datetime:
    return datetime.now(UTC)


class ServiceRevisions:
    """ECS's records of ECS-native deployments; `plane` is the data plane (sandbox/dataplane.py)."""

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

    @staticmethod
    def is_blue_green(configuration: dict | None) -> bool:
        return (configuration or {}).get("strategy") in BLUE_GREEN

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
            group.shown_at = now()
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

    # --- records ---------------------------------------------------------------------------------------------

    def _record(self, service, revision: dict, source: str | None, **fields) -> str:
        """A new ServiceDeployment of the service (its current one), from `source` (a revision ARN) to `revision`."""
        arn = self._deployment_arn(service)
        self.deployments[arn] = {
            "serviceDeploymentArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": now(),
            "targetServiceRevision": {"arn": revision["serviceRevisionArn"]},
            "sourceServiceRevisions": [{"arn": source}] if source else [],
            **fields,
        }
        service.current_service_deployment = arn
        return arn

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
            "createdAt": now(),
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

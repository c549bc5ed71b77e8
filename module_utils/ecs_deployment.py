# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS-native blue/green deployments (deploymentController ECS): API helpers and the wait.

The pure part (stages, strategies, snapshots, progress lines, failure messages) is module_utils/model/ecs.py;
the wait loop is module_utils/deployment_wait.py, shared with CodeDeploy's. AWS behaviour followed: ECS API
reference (UpdateService, ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment,
ContinueServiceDeployment) and the developer guide's blue/green pages.
"""

from __future__ import annotations

from .deployment_wait import Watcher
from .model.ecs import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    paused_hook,
    progress_lines,
    service_deployment_briefs,
    snapshot,
)


def describe_deployment(client, arn):
    found = client.describe_service_deployments(serviceDeploymentArns=[arn], aws_retry=True)
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        reasons = "; ".join(f.get("reason", "") for f in found.get("failures") or [])
        raise LookupError(f"service deployment {arn} not found ({reasons or 'no reason given'})")
    return deployments[0]


def list_deployments(client, cluster, service, statuses=None):
    """Briefs of all the service's deployments (every page), newest first by createdAt: ECS documents no order."""
    request = {"cluster": cluster, "service": service, "maxResults": 100}  # the largest page: fewest calls
    if statuses:
        request["status"] = list(statuses)
    return service_deployment_briefs(
        lambda **params: client.list_service_deployments(aws_retry=True, **params), **request
    )


def active_deployment(client, cluster, service):
    """The service's deployment in progress (ECS runs one at a time; should two be listed, the newest), or None."""
    briefs = list_deployments(client, cluster, service, ACTIVE_STATUSES)
    return briefs[0] if briefs else None


def describe_service(client, cluster, service):
    found = client.describe_services(cluster=cluster, services=[service], aws_retry=True)
    services = [s for s in found.get("services") or [] if s.get("status") != "INACTIVE"]
    if not services:
        raise LookupError(f"ECS service {service} not found in cluster {cluster}")
    return services[0]


def controller_of(service):
    return ((service.get("deploymentController") or {}).get("type")) or "ECS"


def revision_task_definitions(client, revision_arns):
    """Service revision ARN -> its task definition ARN."""
    if not revision_arns:
        return {}
    found = client.describe_service_revisions(serviceRevisionArns=list(revision_arns)[:20], aws_retry=True)
    return {r["serviceRevisionArn"]: r.get("taskDefinition") for r in found.get("serviceRevisions") or []}


def wait_condition(wait_for):
    """A predicate over snapshots for the module's `wait_for` option (None = a terminal status)."""
    wait_for = wait_for or {}
    if wait_for.get("paused"):
        return (lambda snap, timeline: paused_hook(snap) is not None), "a PAUSE hook awaiting promote"
    if wait_for.get("stage"):
        stage = wait_for["stage"]
        return (lambda snap, timeline: snap["stage"] == stage), f"stage {stage}"
    if wait_for.get("replacement_traffic_percent") is not None:
        percent = float(wait_for["replacement_traffic_percent"])
        return (
            lambda snap, timeline: (snap["traffic"].get("replacement") or 0) >= percent,
            f"the new revision at {percent:g}% of production traffic",
        )
    if wait_for.get("progress"):
        return (lambda snap, timeline: len(timeline) > 0), "the next change"
    return (lambda snap, timeline: False), "a terminal status"


class ServiceDeploymentWatcher(Watcher):
    """Polls one service deployment (one DescribeServiceDeployments call a poll: stage, hooks, the target
    revision's counts and traffic weights, rollback and alarms are all in it)."""

    service = "ECS"

    def __init__(self, client, deployment_arn, **kwargs):
        super().__init__(**kwargs)
        self.client = client
        self.deployment_arn = deployment_arn

    def poll(self, force=False):
        deployment = describe_deployment(self.client, self.deployment_arn)
        self.api_calls += 1
        return snapshot(deployment)

    def lines(self, previous, current):
        return progress_lines(previous, current)

    def settled(self, snap):
        return snap["status"] in TERMINAL_STATUSES

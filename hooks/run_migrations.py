"""BeforeAllowTraffic: run the database migrations with the new image, as a one-off ECS task.

RunTask with the deployment's task definition, the container's command overridden with
MIGRATION_COMMAND, and the network configuration of the AppSpec (else of the service's task set); waits
for the task to stop (boto3's tasks_stopped waiter, bounded by the budget) and succeeds only if the
container exited 0. Production still runs the old version while this runs: migrations must be
backward compatible (docs/migrations.md).

Environment:
  MIGRATION_COMMAND            JSON list or a plain string split on spaces (default "python -m service migrate")
  MIGRATION_TIMEOUT_SECONDS    (default 600)
  POLL_INTERVAL_SECONDS        (default 5)
  HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL
"""

from __future__ import annotations

import json
import math

from botocore.exceptions import WaiterError

from hooks import facts as deployment_facts
from hooks.common import Budget, CheckFailed, Hook, client, env_float, env_str, run_hook


def migration_command() -> list[str]:
    raw = env_str("MIGRATION_COMMAND", "python -m service migrate")
    if raw.startswith("["):
        try:
            command = json.loads(raw)
        except ValueError:
            raise CheckFailed(f"MIGRATION_COMMAND {raw!r} starts like JSON but is not") from None
    else:
        command = raw.split()
    if not command or not all(isinstance(part, str) for part in command):
        raise CheckFailed(f"MIGRATION_COMMAND {raw!r} must be a command line or a JSON list of strings")
    return command


def network_configuration(facts, ecs) -> dict | None:
    if facts.network_configuration:
        return {
            "awsvpcConfiguration": {
                "subnets": facts.network_configuration.get("Subnets", []),
                "securityGroups": facts.network_configuration.get("SecurityGroups", []),
                "assignPublicIp": facts.network_configuration.get("AssignPublicIp", "DISABLED"),
            }
        }
    services = ecs.describe_services(cluster=facts.cluster, services=[facts.service]).get("services", [])
    for task_set in services[0].get("taskSets", []) if services else []:
        if task_set.get("networkConfiguration"):
            return task_set["networkConfiguration"]
    return services[0].get("networkConfiguration") if services else None


def run_task_request(facts, ecs, command: list[str], hook: Hook) -> dict:
    request = {
        "cluster": facts.cluster,
        "taskDefinition": facts.task_definition_arn,
        "count": 1,
        "startedBy": f"codedeploy-{hook.deployment_id}"[:128],
        "overrides": {"containerOverrides": [{"name": facts.container_name, "command": command}]},
    }
    network = network_configuration(facts, ecs)
    if network:
        request["networkConfiguration"] = network
    if facts.capacity_provider_strategy:
        request["capacityProviderStrategy"] = [
            {"capacityProvider": s["CapacityProvider"], "weight": s.get("Weight", 1), "base": s.get("Base", 0)}
            for s in facts.capacity_provider_strategy
        ]
    elif "FARGATE" in (facts.task_definition.get("requiresCompatibilities") or []):
        request["launchType"] = "FARGATE"
    if facts.platform_version and "launchType" in request:
        request["platformVersion"] = facts.platform_version
    return request


def check(hook: Hook) -> str:
    command = migration_command()
    facts = deployment_facts.load(hook.deployment_id)
    ecs = client("ecs")
    response = ecs.run_task(**run_task_request(facts, ecs, command, hook))
    if response.get("failures") or not response.get("tasks"):
        failures = "; ".join(
            f"{f.get('arn', '')} {f.get('reason')} {f.get('detail', '')}".strip() for f in response.get("failures", [])
        )
        raise CheckFailed(f"RunTask started no migration task: {failures or 'no reason given'}")
    task_arn = response["tasks"][0]["taskArn"]

    timeout = min(env_float("MIGRATION_TIMEOUT_SECONDS", 600.0), hook.budget.remaining())
    interval = max(1.0, env_float("POLL_INTERVAL_SECONDS", 5.0))
    budget = Budget(timeout)
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=facts.cluster,
            tasks=[task_arn],
            WaiterConfig={"Delay": int(interval), "MaxAttempts": max(1, math.floor(timeout / interval))},
        )
    except WaiterError:
        ecs.stop_task(cluster=facts.cluster, task=task_arn, reason="migration exceeded its time budget")
        raise CheckFailed(
            f"migration task {task_arn} still running after {budget.elapsed():.0f}s: stopped it"
        ) from None

    task = ecs.describe_tasks(cluster=facts.cluster, tasks=[task_arn])["tasks"][0]
    container = next((c for c in task.get("containers", []) if c.get("name") == facts.container_name), {})
    exit_code = container.get("exitCode")
    if exit_code != 0:
        raise CheckFailed(
            f"migration task {task_arn} ({' '.join(command)}) exited {exit_code}: "
            f"{task.get('stoppedReason', 'no stopped reason')}"
            + (f"; container: {container['reason']}" if container.get("reason") else "")
        )
    return f"migration task {task_arn} ({' '.join(command)}) exited 0 in {budget.elapsed():.0f}s"


def handler(event, context):
    return run_hook("run-migrations", event, context, check)

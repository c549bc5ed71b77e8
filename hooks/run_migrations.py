"""BeforeAllowTraffic: run the database migrations with the new image, as a one-off ECS task.

RunTask with the deployment's task definition, the container's command overridden with
MIGRATION_COMMAND, and the network configuration of the AppSpec (else of the service's task set); waits
for the task to stop (boto3's tasks_stopped waiter, bounded by the budget) and succeeds only if the
container exited 0. Production still runs the old version while this runs: migrations must be
backward compatible (docs/migrations.md).

The same migration runs by hand (a runbook, or provisioning a new service's first schema):
  python -m hooks.run_migrations --cluster C --service S [--task-definition ARN] [--container web]
It uses the service's network configuration and, without --task-definition, the task definition of the
service's primary task set; it exits 0 only when the migration task exited 0.

Environment:
  MIGRATION_COMMAND            JSON list or a plain string split on spaces (default "python -m service migrate")
  MIGRATION_TIMEOUT_SECONDS    (default 600)
  POLL_INTERVAL_SECONDS        (default 5)
  HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL
"""

from __future__ import annotations

import argparse
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


# The tag the migration task carries: the hook role may stop only tasks tagged so (module_utils/bluegreen_iam.py
# MIGRATION_TAG; a unit test keeps the two equal).
MIGRATION_TAG = {"key": "bluegreen:purpose", "value": "migration"}


def run_task_request(facts, ecs, command: list[str], started_by: str) -> dict:
    request = {
        "cluster": facts.cluster,
        "taskDefinition": facts.task_definition_arn,
        "count": 1,
        "startedBy": started_by[:128],
        "tags": [MIGRATION_TAG],
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


def run_and_wait(
    ecs, request: dict, container_name: str, command: list[str], *, timeout: float, interval: float
) -> str:
    """RunTask, wait for the task to stop (boto3's tasks_stopped waiter), and succeed only on exit code 0."""
    response = ecs.run_task(**request)
    if response.get("failures") or not response.get("tasks"):
        failures = "; ".join(
            f"{f.get('arn', '')} {f.get('reason')} {f.get('detail', '')}".strip() for f in response.get("failures", [])
        )
        raise CheckFailed(f"RunTask started no migration task: {failures or 'no reason given'}")
    task_arn = response["tasks"][0]["taskArn"]
    cluster = request["cluster"]
    budget = Budget(timeout)
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=cluster,
            tasks=[task_arn],
            WaiterConfig={"Delay": interval, "MaxAttempts": max(1, math.floor(timeout / interval))},
        )
    except WaiterError:
        ecs.stop_task(cluster=cluster, task=task_arn, reason="migration exceeded its time budget")
        raise CheckFailed(
            f"migration task {task_arn} still running after {budget.elapsed():.0f}s: stopped it"
        ) from None

    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    container: dict = next((c for c in task.get("containers", []) if c.get("name") == container_name), {})
    exit_code = container.get("exitCode")
    if exit_code != 0:
        raise CheckFailed(
            f"migration task {task_arn} ({' '.join(command)}) exited {exit_code}: "
            f"{task.get('stoppedReason', 'no stopped reason')}"
            + (f"; container: {container['reason']}" if container.get("reason") else "")
        )
    return f"migration task {task_arn} ({' '.join(command)}) exited 0 in {budget.elapsed():.0f}s"


def check(hook: Hook) -> str:
    command = migration_command()
    facts = deployment_facts.load(hook.deployment_id)
    ecs = client("ecs")
    timeout = min(env_float("MIGRATION_TIMEOUT_SECONDS", 600.0), hook.budget.remaining())
    interval = max(1, int(env_float("POLL_INTERVAL_SECONDS", 5.0)))
    request = run_task_request(facts, ecs, command, f"codedeploy-{hook.deployment_id}")
    return run_and_wait(ecs, request, facts.container_name, command, timeout=timeout, interval=interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hooks.run_migrations", description="Run the migrations as an ECS task."
    )
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--task-definition", help="default: the task definition of the service's primary task set")
    parser.add_argument("--container", default="web")
    parser.add_argument("--started-by", default="hooks.run_migrations")
    args = parser.parse_args(argv)
    ecs = client("ecs")
    services = ecs.describe_services(cluster=args.cluster, services=[args.service]).get("services", [])
    if not services:
        print(f"FAILED: ECS service {args.service} not found in cluster {args.cluster}")
        return 1
    primary: dict = next((ts for ts in services[0].get("taskSets", []) if ts.get("status") == "PRIMARY"), {})
    task_definition = args.task_definition or primary.get("taskDefinition") or services[0].get("taskDefinition")
    facts = deployment_facts.DeploymentFacts(
        deployment_id="",
        application_name="",
        deployment_group_name="",
        task_definition_arn=task_definition,
        container_name=args.container,
        container_port=0,
        cluster=args.cluster,
        service=args.service,
        task_definition=ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"],
    )
    command = migration_command()
    request = run_task_request(facts, ecs, command, args.started_by)
    try:
        print(
            run_and_wait(
                ecs,
                request,
                args.container,
                command,
                timeout=env_float("MIGRATION_TIMEOUT_SECONDS", 600.0),
                interval=max(1, int(env_float("POLL_INTERVAL_SECONDS", 5.0))),
            )
        )
    except CheckFailed as e:
        print(f"FAILED: {e}")
        return 1
    return 0


def handler(event, context):
    return run_hook("run-migrations", event, context, check)


if __name__ == "__main__":
    raise SystemExit(main())

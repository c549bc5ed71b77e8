"""BeforeAllowTraffic (CodeDeploy) / POST_TEST_TRAFFIC_SHIFT (ECS): the database migrations with the new image,
as a one-off ECS task.

RunTask with the deployment's task definition, the container's command overridden with MIGRATION_COMMAND, and
the deployment's network configuration (else the service's); the check is polled until the task stops and
succeeds only if the container exited 0. Production still runs the old version while this runs: migrations must
be backward compatible (docs/migrations.md).

Polled, and idempotent: the task is started with startedBy `codedeploy-<deployment id>` or
`ecs-deployment-<service deployment id>`, and each poll finds the task it started instead of starting a second
one: from the state it carried (CodeDeploy's adapter polls within its one invocation), and under ECS, which may
invoke a stage's hook again, also by ListTasks with that startedBy, else among the family's recently stopped tasks.

Under ECS the test-traffic check runs at the same stage (module_utils/model/ecs.py CHECK_STAGES): the
migrations wait for it (its hook's status in DescribeServiceDeployments' lifecycleHookDetails) and do not run if
it failed. AFTER_HOOK_FUNCTIONS (JSON list of function names) says which; by default the function named like this
one with `validate-test-traffic` for `run-migrations`.

The same migration runs by hand (a runbook, or provisioning a new service's first schema):
  python -m hooks.run_migrations --cluster C --service S [--task-definition ARN] [--container web]
It uses the service's network configuration and, without --task-definition, the task definition of the
service's primary task set; it exits 0 only when the migration task exited 0.

Environment:
  MIGRATION_COMMAND            JSON list or a plain string split on spaces (default "python -m service migrate")
  MIGRATION_TIMEOUT_SECONDS    (default 600), from the task's start
  POLL_INTERVAL_SECONDS        (default 5)
  AFTER_HOOK_FUNCTIONS         (ECS) the hooks of the same stage to wait for
  HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

from botocore.exceptions import WaiterError

from hooks import facts as deployment_facts
from hooks.common import Budget, CheckFailed, Hook, Pending, client, env_float, env_json, env_str
from hooks.handler import handle


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


# The tag the migration task carries: the hook role may stop only tasks tagged so (module_utils/iam/
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
    task_arn = start_task(ecs, request)
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
    return outcome(task_arn, task, container_name, command, budget.elapsed())


def outcome(task_arn: str, task: dict, container_name: str, command: list[str], seconds: float) -> str:
    """A stopped migration task's verdict: its container exited 0, or the check fails naming the exit code."""
    container: dict = next((c for c in task.get("containers", []) if c.get("name") == container_name), {})
    exit_code = container.get("exitCode")
    if exit_code != 0:
        raise CheckFailed(
            f"migration task {task_arn} ({' '.join(command)}) exited {exit_code}: "
            f"{task.get('stoppedReason', 'no stopped reason')}"
            + (f"; container: {container['reason']}" if container.get("reason") else "")
        )
    return f"migration task {task_arn} ({' '.join(command)}) exited 0 in {seconds:.0f}s"


def start_task(ecs, request: dict) -> str:
    response = ecs.run_task(**request)
    if response.get("failures") or not response.get("tasks"):
        failures = "; ".join(
            f"{f.get('arn', '')} {f.get('reason')} {f.get('detail', '')}".strip() for f in response.get("failures", [])
        )
        raise CheckFailed(f"RunTask started no migration task: {failures or 'no reason given'}")
    return response["tasks"][0]["taskArn"]


def find_started(ecs, cluster: str, family: str, started_by: str) -> str | None:
    """The migration task this deployment started before, if any. ListTasks takes startedBy as its only filter
    (so it lists running tasks only); a task that already stopped is among the family's recently stopped ones."""
    running = ecs.list_tasks(cluster=cluster, startedBy=started_by).get("taskArns", [])
    if running:
        return running[0]
    stopped = ecs.list_tasks(cluster=cluster, family=family, desiredStatus="STOPPED").get("taskArns", [])
    mine: list[dict] = []
    for start in range(0, len(stopped), 100):
        tasks = ecs.describe_tasks(cluster=cluster, tasks=stopped[start : start + 100]).get("tasks", [])
        mine.extend(t for t in tasks if t.get("startedBy") == started_by)
    mine.sort(key=lambda t: str(t.get("createdAt", "")))
    return mine[-1]["taskArn"] if mine else None


def hooks_to_wait_for() -> list[str]:
    configured = env_json("AFTER_HOOK_FUNCTIONS", None)
    if configured is not None:
        if not isinstance(configured, list) or not all(isinstance(n, str) for n in configured):
            raise CheckFailed("AFTER_HOOK_FUNCTIONS must be a JSON list of function names")
        return configured
    own = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    return [own[: -len("run-migrations")] + "validate-test-traffic"] if own.endswith("run-migrations") else []


def wait_for_earlier_hooks(hook: Hook, interval: float) -> None:
    """ECS: the hooks this one comes after (same stage) must have SUCCEEDED. Not on a service's first deployment:
    nothing serves yet, so nothing is at risk, and the test-traffic checks' smoke requests need the schema: there
    the migrations run first and the test-traffic check waits for them (hooks/validate_test_traffic.py)."""
    deployment = deployment_facts.service_deployment(hook)
    if deployment_facts.first_deployment(deployment):
        return
    deployment_facts.wait_for_hooks(hook, deployment, hooks_to_wait_for(), interval, "the migrations")


def check(hook: Hook) -> str:
    command = migration_command()
    interval = max(1, int(env_float("POLL_INTERVAL_SECONDS", 5.0)))
    if hook.controller == "ecs" and not hook.state.get("task_arn"):
        wait_for_earlier_hooks(hook, interval)
    facts = hook.facts()
    facts.require_task_definition()
    ecs = client("ecs")
    prefix = "ecs-deployment" if hook.controller == "ecs" else "codedeploy"
    started_by = f"{prefix}-{hook.deployment_id}"[:128]
    state = dict(hook.state)
    task_arn = state.get("task_arn")
    if task_arn is None and hook.controller == "ecs":
        # ECS may invoke a stage's hook again: find the task an earlier invocation started. CodeDeploy invokes a
        # hook once and this check runs to the end in that invocation, which keeps the task's ARN in its state
        # (so the hooks role needs no ecs:ListTasks for CodeDeploy).
        task_arn = find_started(ecs, facts.cluster, facts.task_definition.get("family", ""), started_by)
    if task_arn is None:
        task_arn = start_task(ecs, run_task_request(facts, ecs, command, started_by))
        # Within one CodeDeploy invocation the migration must also end before the invocation's budget does.
        timeout = env_float("MIGRATION_TIMEOUT_SECONDS", 600.0)
        if hook.controller != "ecs":
            timeout = min(timeout, hook.budget.remaining())
        state = {"task_arn": task_arn, "started": time.time(), "timeout": timeout}
        raise Pending(f"migration task {task_arn} started ({' '.join(command)})", interval, state)
    state.setdefault("task_arn", task_arn)
    state.setdefault("started", time.time())
    state.setdefault("timeout", env_float("MIGRATION_TIMEOUT_SECONDS", 600.0))
    task = ecs.describe_tasks(cluster=facts.cluster, tasks=[task_arn])["tasks"][0]
    elapsed = time.time() - float(state["started"])
    if task.get("lastStatus") != "STOPPED":
        if elapsed >= float(state["timeout"]):
            ecs.stop_task(cluster=facts.cluster, task=task_arn, reason="migration exceeded its time budget")
            raise CheckFailed(f"migration task {task_arn} still running after {elapsed:.0f}s: stopped it")
        raise Pending(f"migration task {task_arn} {task.get('lastStatus', 'PENDING')}", interval, state)
    return outcome(task_arn, task, facts.container_name, command, elapsed)


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
    return handle("run-migrations", event, context, check)


if __name__ == "__main__":
    raise SystemExit(main())

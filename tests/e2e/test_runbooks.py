"""The runbooks' commands (docs/runbooks/), run as written against the sandbox: the AWS CLI with the
environment's names, the migration by hand, the emergency listener switch."""

from __future__ import annotations

import json
import subprocess

import pytest

from sandbox.drivers.harness import APP, BIN, NAMES, PROD_PORT, REPO

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]


def aws(sandbox, *args: str) -> str:
    environment = sandbox.client_environment()
    result = subprocess.run(
        [str(BIN / "aws"), *args, "--output", "json"], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_stuck_deployment_and_failed_hook_commands_show_where_a_deployment_is(sandbox):
    version = sandbox.next_version()
    sandbox.playbook("deploy.yml", "-e", f"image_tag={version}")
    deployment_id = sandbox.latest()["deploymentId"]

    targets = aws(sandbox, "deploy", "list-deployment-targets", "--deployment-id", deployment_id)["targetIds"]
    assert targets == [f"{APP}:{APP}"]
    events, task_sets = aws(
        sandbox,
        "deploy",
        "batch-get-deployment-targets",
        "--deployment-id",
        deployment_id,
        "--target-ids",
        f"{APP}:{APP}",
        "--query",
        "deploymentTargets[0].ecsTarget.[lifecycleEvents[].[lifecycleEventName,status],"
        "taskSetsInfo[].[taskSetLabel,runningCount,desiredCount,trafficWeight]]",
    )
    assert ["AfterAllowTraffic", "Succeeded"] in events
    assert ["Green", 2, 2, 100.0] in task_sets

    messages = aws(
        sandbox,
        "logs",
        "filter-log-events",
        "--log-group-name",
        f"/aws/lambda/{APP}-validate-test-traffic",
        "--filter-pattern",
        f'"{deployment_id}"',
        "--query",
        "events[].message",
    )
    assert any('"message": "Succeeded"' in m and version in m for m in messages)


def test_the_migration_by_hand_and_its_output_in_the_container_log(sandbox):
    result = subprocess.run(
        [str(BIN / "python"), "-m", "hooks.run_migrations", "--cluster", APP, "--service", APP],
        cwd=REPO,
        env={
            **sandbox.client_environment(),
            "MIGRATION_TIMEOUT_SECONDS": "60",
            "POLL_INTERVAL_SECONDS": "1",
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(python -m service migrate) exited 0" in result.stdout
    task_id = result.stdout.split("task/", 1)[1].split()[0].rsplit("/", 1)[-1]

    def logged():
        streams = aws(sandbox, "logs", "describe-log-streams", "--log-group-name", NAMES["log_group"])["logStreams"]
        return any(s["logStreamName"] == f"web/web/{task_id}" for s in streams)

    sandbox.wait_for("the migration task's log stream", logged, timeout=15)
    lines = aws(
        sandbox,
        "logs",
        "get-log-events",
        "--log-group-name",
        NAMES["log_group"],
        "--log-stream-name",
        f"web/web/{task_id}",
        "--query",
        "events[].message",
    )
    assert lines, "the migration task logged nothing"


def test_emergency_switch_commands_then_a_deployment_still_works(sandbox):
    balancer = aws(sandbox, "elbv2", "describe-load-balancers", "--names", APP)["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = aws(sandbox, "elbv2", "describe-listeners", "--load-balancer-arn", balancer)["Listeners"]
    production = next(listener for listener in listeners if listener["Port"] == PROD_PORT)
    healthy = {}
    for name in NAMES["target_groups"]:
        arn = aws(sandbox, "elbv2", "describe-target-groups", "--names", name)["TargetGroups"][0]["TargetGroupArn"]
        states = aws(sandbox, "elbv2", "describe-target-health", "--target-group-arn", arn)["TargetHealthDescriptions"]
        healthy[arn] = [d["TargetHealth"]["State"] for d in states]
    serving = next(arn for arn, states in healthy.items() if states and set(states) == {"healthy"})
    version = next(iter(sandbox.versions_served(5)))

    aws(
        sandbox,
        "elbv2",
        "modify-listener",
        "--listener-arn",
        production["ListenerArn"],
        "--default-actions",
        f"Type=forward,TargetGroupArn={serving}",
    )
    task_sets = aws(sandbox, "ecs", "describe-services", "--cluster", APP, "--services", APP)["services"][0]["taskSets"]
    behind = next(ts for ts in task_sets if ts["loadBalancers"][0]["targetGroupArn"] == serving)
    aws(
        sandbox,
        "ecs",
        "update-service-primary-task-set",
        "--cluster",
        APP,
        "--service",
        APP,
        "--primary-task-set",
        behind["id"],
    )
    assert sandbox.versions_served(10) == {version: 10}

    following = sandbox.next_version()
    sandbox.playbook("deploy.yml", "-e", f"image_tag={following}")
    assert sandbox.versions_served(10) == {following: 10}

"""IAM as AWS enforces it, seen from each principal of the provisioned environment: the hook functions' role, a
task's role through the container credentials endpoint, and the task execution role reading the secrets. Every
other e2e scenario runs with the same enforcement (sandbox/iam/authority.py); these show its edges."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.exceptions import ClientError

from module_utils.iam import MIGRATION_TAG
from sandbox.drivers.harness import APP, NAMES
from sandbox.drivers.iam_analysis import needs, project_roles, read

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]


def role_session(sandbox, role: str, service: str, session: str) -> boto3.session.Session:
    """Temporary credentials of a role, from the sandbox's STS, as the service that assumes it gets them."""
    config = sandbox.config
    request = urllib.request.Request(
        f"http://127.0.0.1:{config['aws_port']}/_sandbox/iam/assume-role",
        data=json.dumps({"roleArn": role, "service": service, "session": session}).encode(),
        headers={"X-Sandbox-Token": config["internal_token"]},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox's own http endpoint
        credentials = json.loads(response.read())
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="eu-west-1",
    )


def test_the_hook_role_reads_its_own_service_and_may_not_stop_a_production_task(sandbox):
    """What a hook function gets in its environment: temporary credentials of the hook role. They read this
    service, not the neighbour's, and StopTask on a serving task is refused as AWS refuses it, naming the action
    and the task (the statement allows only tasks tagged as migrations)."""
    iam = sandbox.client("iam")
    role = iam.get_role(RoleName=NAMES["roles"]["hooks"])["Role"]["Arn"]
    hooks = role_session(sandbox, role, "lambda.amazonaws.com", NAMES["hook_functions"]["AfterInstall"])
    endpoint = f"http://127.0.0.1:{sandbox.config['aws_port']}"
    ecs = hooks.client("ecs", endpoint_url=endpoint)
    identity = hooks.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]
    assert identity.startswith(f"arn:aws:sts::123456789012:assumed-role/{NAMES['roles']['hooks']}/")

    assert ecs.describe_services(cluster=APP, services=[NAMES["ecs_service"]])["services"]
    worker = sandbox.names("worker")["ecs_service"]
    with pytest.raises(ClientError) as refused:
        ecs.describe_services(cluster=APP, services=[worker])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"

    serving = sandbox.client("ecs").list_tasks(cluster=APP, serviceName=NAMES["ecs_service"], desiredStatus="RUNNING")
    task = serving["taskArns"][0]
    with pytest.raises(ClientError) as refused:
        ecs.stop_task(cluster=APP, task=task, reason="a hook gone wrong")
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: {identity} is not authorized to perform: ecs:StopTask on resource: {task} because no "
        "identity-based policy allows the ecs:StopTask action"
    )
    described = sandbox.client("ecs").describe_tasks(cluster=APP, tasks=[task])["tasks"][0]
    assert described["lastStatus"] == "RUNNING", "the refused StopTask stopped the task"

    # A migration over its time budget is what the hook stops (hooks/run_migrations.py): a task tagged so.
    service = sandbox.client("ecs").describe_services(cluster=APP, services=[NAMES["ecs_service"]])["services"][0]
    primary = next(ts for ts in service["taskSets"] if ts["status"] == "PRIMARY")
    migration = sandbox.client("ecs").run_task(
        cluster=APP,
        taskDefinition=primary["taskDefinition"],
        networkConfiguration=primary["networkConfiguration"],
        overrides={"containerOverrides": [{"name": "web", "command": ["python", "-c", "import time; time.sleep(60)"]}]},
        tags=[{"key": MIGRATION_TAG[0], "value": MIGRATION_TAG[1]}],
    )["tasks"][0]["taskArn"]
    ecs.stop_task(cluster=APP, task=migration, reason="migration exceeded its time budget")
    ecs.get_waiter("tasks_stopped").wait(cluster=APP, tasks=[migration], WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def test_a_task_gets_its_task_roles_credentials_from_the_container_credentials_endpoint(sandbox):
    """A container's SDK finds the task role's credentials through AWS_CONTAINER_CREDENTIALS_FULL_URI (botocore's
    container provider), never the operator's: the migration task of the serving task definition says who it is."""
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(cluster=APP, services=[NAMES["ecs_service"]])["services"][0]
    primary = next(ts for ts in service["taskSets"] if ts["status"] == "PRIMARY")
    script = "import boto3; print('caller', boto3.client('sts').get_caller_identity()['Arn'], flush=True)"
    task = ecs.run_task(
        cluster=APP,
        taskDefinition=primary["taskDefinition"],
        networkConfiguration=primary["networkConfiguration"],
        overrides={"containerOverrides": [{"name": "web", "command": ["python", "-c", script]}]},
        tags=[{"key": k, "value": v} for k, v in [MIGRATION_TAG]],
    )["tasks"][0]
    ecs.get_waiter("tasks_stopped").wait(cluster=APP, tasks=[task["taskArn"]], WaiterConfig={"Delay": 1})
    stopped = ecs.describe_tasks(cluster=APP, tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["containers"][0]["exitCode"] == 0, stopped.get("stoppedReason")
    logs = sandbox.client("logs")
    deadline, lines = time.monotonic() + 15, []
    while time.monotonic() < deadline and not lines:
        events = logs.filter_log_events(logGroupName=NAMES["log_group"], filterPattern='"caller"')["events"]
        lines = [e["message"] for e in events if task["taskArn"].rsplit("/", 1)[-1] in e.get("logStreamName", "")]
        time.sleep(0.5)
    assert lines, "the task's output never reached its log group"
    assert f":assumed-role/{NAMES['roles']['task']}/" in lines[0]


@contextmanager
def without_statement(sandbox, role: str, sid: str) -> Iterator[dict]:
    """The role's policy without one statement, for the duration (then as provisioned again)."""
    iam = sandbox.client("iam")
    original = iam.get_role_policy(RoleName=role, PolicyName="least-privilege")["PolicyDocument"]
    reduced = {**original, "Statement": [s for s in original["Statement"] if s["Sid"] != sid]}
    assert len(reduced["Statement"]) == len(original["Statement"]) - 1, f"{role} has no statement {sid}"
    iam.put_role_policy(RoleName=role, PolicyName="least-privilege", PolicyDocument=json.dumps(reduced))
    try:
        yield original
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="least-privilege", PolicyDocument=json.dumps(original))


@pytest.mark.parametrize(
    ("role", "sid", "where"),
    [
        # The hook functions read the AppSpec at BeforeInstall: the first hook fails and says why.
        ("hooks", "ReadTheAppSpec", "BeforeInstall"),
        # CodeDeploy cannot invoke the first hook.
        ("codedeploy", "InvokeTheHooks", "BeforeInstall"),
        # ECS cannot read the task's secret: the replacement tasks never start (ResourceInitializationError).
        ("task-execution", "ReadTheTaskSecrets", "Install"),
    ],
)
def test_without_a_needed_statement_the_predicted_call_is_refused(sandbox, role, sid, where):
    """The least-privilege analysis is honest: for one statement per principal that the decision log says was
    needed (sandbox/drivers/iam_analysis.py), deploy's preflight names the denied pair (it simulates the role), and a
    deploy without the preflight fails at the predicted call, refused as AWS refuses it, and production keeps
    serving."""
    roles = project_roles(
        secret_arns=[sandbox.client("secretsmanager").describe_secret(SecretId="orders-local/api-token")["ARN"]]
    )
    found = needs(read(sandbox.home / "logs" / "iam-decisions.jsonl"), roles)
    name = NAMES["roles"][role]
    need = next(n for (r, s, _), n in found.items() if (r, s) == (name, sid))
    before = sandbox.versions_served(10)
    with without_statement(sandbox, name, sid):
        version = sandbox.next_version()
        preflight = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)
        result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", "skip_verify=true", check=False)

    predicted = " ".join(preflight.stdout.replace("''", "'").split())
    assert preflight.returncode == 2
    assert f"FAILED iam: role {name}:" in predicted, predicted[-3000:]
    assert f"{need.call} on {need.resource} ({sid}: implicitDeny)" in predicted, predicted[-3000:]
    said = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert f"failed at lifecycle event {where}" in said
    assert f"assumed-role/{name}/" in said
    assert f"is not authorized to perform: {need.call} on resource: {need.resource} because" in said, said[-3000:]
    assert "production traffic is back on the original task set" in said
    assert sandbox.versions_served(10) == before

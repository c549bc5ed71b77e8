"""IAM as AWS enforces it, seen from each principal of the provisioned environment: the hook functions' role, a
task's role through the container credentials endpoint, and the task execution role reading the secrets. Every
other e2e scenario runs with the same enforcement (sandbox/iam_authority.py); these show its edges."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from module_utils.bluegreen_iam import MIGRATION_TAG
from sandbox.harness import APP, NAMES


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


def test_a_secret_the_execution_role_may_not_read_fails_install_and_the_deploy_says_so(sandbox):
    """A task definition that references a secret outside the execution role's statements (added to the
    inventory, but provision not run): ECS cannot start the tasks (ResourceInitializationError naming the
    secret), Install fails, production stays, and the deploy says why in ECS's words."""
    secrets = sandbox.client("secretsmanager")
    other = secrets.create_secret(Name="orders-local/not-granted", SecretString="x")["ARN"]
    before = sandbox.versions_served(10)
    version = sandbox.next_version()
    extra = json.dumps(
        {"ecs_service_secrets": {"API_TOKEN": "orders-local/api-token", "OTHER": "orders-local/not-granted"}}
    )
    result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", extra, check=False)

    assert result.returncode != 0
    assert "failed at lifecycle event Install" in result.stdout
    assert "ResourceInitializationError" in result.stdout
    assert f"secretsmanager:GetSecretValue on resource: {other}" in result.stdout.replace("\n", " ").replace("  ", " ")
    assert "production traffic is back on the original task set" in result.stdout.replace("\n        ", " ")
    assert sandbox.versions_served(10) == before

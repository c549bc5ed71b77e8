"""The local environment's scenarios that break what every environment of the sandbox shares: the VPC's routes, a
secret both of its services read, the environment's deploy policy. Each asks for `nothing_beside` (conftest.py): it
waits until no other environment's module runs. They come after the environment's other scenarios (the group runs its
modules in name order), when the other environments, shorter, are over: they wait for nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

import pytest

from sandbox.config import ACCOUNT_ID
from sandbox.drivers.harness import APP, NAMES
from sandbox.drivers.iam_analysis import needs, project_operator_policies, read
from tests.e2e.steps import failed_lines, verify

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]


def test_private_subnets_without_a_nat_route_are_found_and_fail_later_without_verify(sandbox, nothing_beside):
    """No 0.0.0.0/0 route in the private subnets' route table and no VPC endpoint: verify names what each subnet's
    tasks and hooks cannot reach. Without verify, it fails later, as on AWS: a task started there stops with
    CannotPullContainerError (its image's registry is out of reach), and a hook function's calls to CodeDeploy time
    out, so it can never report its lifecycle event (CodeDeploy would wait for the event's timeout)."""
    ec2, ecs = sandbox.client("ec2"), sandbox.client("ecs")
    tables = [
        t for t in ec2.describe_route_tables()["RouteTables"] if any(r.get("NatGatewayId") for r in t.get("Routes", []))
    ]
    (table,) = tables
    (route,) = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    subnet = table["Associations"][0]["SubnetId"]
    service = ecs.describe_services(cluster=NAMES["cluster"], services=[NAMES["ecs_service"]])["services"][0]
    network = service["taskSets"][0]["networkConfiguration"]
    ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    try:
        code, output = verify(sandbox, "-e", "image_tag=1.0.0")
        # A task that reads an SSM parameter instead needs the ssm endpoint, not Secrets Manager's.
        sandbox.client("ssm").put_parameter(Name="/orders-local/flag", Value="on", Type="String", Overwrite=True)
        parameter = f"arn:aws:ssm:eu-west-1:{ACCOUNT_ID}:parameter/orders-local/flag"
        secrets = json.dumps({"ecs_service_secrets": {"FLAG": parameter}})
        _, ssm_output = verify(sandbox, "-e", "image_tag=1.0.0", "-e", secrets)
        task = ecs.run_task(
            cluster=NAMES["cluster"],
            taskDefinition=service["taskSets"][0]["taskDefinition"],
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {**network["awsvpcConfiguration"], "subnets": [subnet]}},
            startedBy="preflight-test",
        )["tasks"][0]["taskArn"]
        invoked = sandbox.client("lambda").invoke(
            FunctionName=NAMES["hook_functions"]["BeforeInstall"],
            Payload=json.dumps({"DeploymentId": "d-NOROUTE00", "LifecycleEventHookExecutionId": "nothing"}),
        )
        hook_output = invoked["Payload"].read().decode()
        stopped = sandbox.wait_for(
            "the task to stop",
            lambda: [
                t
                for t in ecs.describe_tasks(cluster=NAMES["cluster"], tasks=[task])["tasks"]
                if t["lastStatus"] == "STOPPED"
            ],
            timeout=60,
        )
    finally:
        ec2.create_route(
            RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=route["NatGatewayId"]
        )
    assert code == 2
    lines = failed_lines(output)
    network_lines = [line for line in lines if line.startswith("FAILED network:")]
    assert len(network_lines) == 2, lines  # both private subnets
    assert "no VPC endpoint for: logs (CloudWatch Logs)" in network_lines[0]
    assert "secretsmanager (Secrets Manager (the task's secrets))" in network_lines[0]
    assert "codedeploy (CodeDeploy (to report the hook's result))" in network_lines[0]
    assert "the image's registry (not ECR: only a NAT gateway reaches it)" in network_lines[0]
    (ssm_line, _) = [line for line in failed_lines(ssm_output) if line.startswith("FAILED network:")]
    assert "ssm (SSM Parameter Store (the task's parameters))" in ssm_line, ssm_line
    assert "secretsmanager" not in ssm_line, ssm_line
    assert any(line.startswith("FAILED reachability: test listener") and "no NAT gateway" in line for line in lines)
    # ... and what happens without the preflight.
    assert "CannotPullContainerError" in stopped[0]["stoppedReason"], stopped[0]
    assert "i/o timeout" in stopped[0]["stoppedReason"]
    logs = sandbox.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{NAMES['hook_functions']['BeforeInstall']}", filterPattern='"d-NOROUTE00"'
    )["events"]
    seen = hook_output + " ".join(e["message"] for e in logs)
    assert "Connect timeout" in seen, seen[-3000:]


def test_a_secret_scheduled_for_deletion_is_found(sandbox, nothing_beside):
    """The task's secret scheduled for deletion: new tasks would stop with ResourceInitializationError and the
    deployment roll back; the preflight says how to restore it. (The worker's tasks read it too: nothing_beside.)"""
    secrets = sandbox.client("secretsmanager")
    arn = secrets.describe_secret(SecretId="orders-local/api-token")["ARN"]
    secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    try:
        code, output = verify(sandbox)
    finally:
        secrets.restore_secret(SecretId=arn)
    assert code == 2
    (line,) = [line for line in failed_lines(output) if line.startswith("FAILED secrets:")]
    assert "scheduled for deletion" in line
    assert f"FIX: aws secretsmanager restore-secret --secret-id {arn}" in line


@contextmanager
def without_operator_statement(sandbox, policy: str, sid: str) -> Iterator[None]:
    """The operator policy's default version without one statement, for the duration (then the original again)."""
    iam = sandbox.client("iam")
    arn = f"arn:aws:iam::123456789012:policy/{policy}"
    default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
    document = json.loads(unquote(document)) if isinstance(document, str) else document
    reduced = {**document, "Statement": [s for s in document["Statement"] if s["Sid"] != sid]}
    assert len(reduced["Statement"]) == len(document["Statement"]) - 1, f"{policy} has no statement {sid}"
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(reduced), SetAsDefault=True)
    try:
        yield
    finally:
        iam.set_default_policy_version(PolicyArn=arn, VersionId=default)
        iam.delete_policy_version(PolicyArn=arn, VersionId=version["PolicyVersion"]["VersionId"])


def test_a_deployer_without_a_needed_statement_is_refused_before_anything_changes(sandbox, nothing_beside):
    """The operators' analysis is honest too: without the deploy policy's PassRole of the task roles (needed, says
    the decision log), deploy.yml's preflight names the denied pair (it simulates the caller's policy), and
    without the preflight deploy.yml is refused at the call predicted, as the deploy credential, before any
    deployment exists; production keeps serving. (The policy is every service's of the environment: the worker's
    deploys would be refused too, so nothing runs beside: nothing_beside.)"""
    policy = f"{APP}-deploy"

    def need_of_this_service():  # the first call of a deploy of this service (not the worker's) the statement allowed
        decisions = [
            d for d in read(sandbox.home / "logs" / "iam-decisions.jsonl") if f"{APP}-worker" not in d["resource"]
        ]
        found = needs(decisions, project_operator_policies())
        return next((n for (h, s, _), n in found.items() if (h, s) == (policy, "PassTheTaskRoles")), None)

    if need_of_this_service() is None:  # run alone: no deploy of this service yet in this run
        sandbox.playbook("deploy.yml", "-e", f"image_tag={sandbox.next_version()}")
    need = need_of_this_service()
    assert need is not None, "no deploy of the service passed its task roles"
    before, deployments = sandbox.versions_served(10), len(sandbox.deployments())
    with without_operator_statement(sandbox, policy, "PassTheTaskRoles"):
        version = sandbox.next_version()
        preflight = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)
        result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", "skip_verify=true", check=False)

    predicted = " ".join(preflight.stdout.replace("''", "'").split())
    assert preflight.returncode == 2
    assert "FAILED iam: caller sandbox-deploy:" in predicted, predicted[-3000:]
    assert f"iam:PassRole on {need.resource} (PassTheTaskRoles: implicitDeny)" in predicted, predicted[-3000:]
    said = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert f"user/sandbox-deploy is not authorized to perform: {need.call} on resource: {need.resource}" in said, said[
        -3000:
    ]
    assert len(sandbox.deployments()) == deployments
    assert sandbox.versions_served(10) == before

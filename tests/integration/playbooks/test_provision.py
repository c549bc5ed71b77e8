"""provision.yml with the dev inventory against the AWS emulator: creates everything, then changes nothing,
even after a blue/green deployment swapped the target groups."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT

PLAY_RECAP = re.compile(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def recap(stdout: str) -> dict[str, int]:
    match = PLAY_RECAP.search(stdout)
    assert match, stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


@pytest.fixture
def dev_network(boto3_client) -> dict:
    """The VPC, subnets and secret the dev inventory expects to find (it creates none). The inventory names the
    secret; Secrets Manager gives its ARN a random suffix, which provisioning resolves."""
    ec2 = boto3_client("ec2")
    if ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["orders-dev"]}])["Vpcs"]:
        pytest.fail("the emulator already has an orders-dev VPC: tests must start from a fresh emulator")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "orders-dev"}])
    subnets = {}
    for index, (tier, zone) in enumerate([("private", "a"), ("private", "b"), ("public", "a"), ("public", "b")]):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{index}.0/24", AvailabilityZone=f"eu-west-1{zone}")
        subnet_id = subnet["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": "Tier", "Value": tier}])
        subnets.setdefault(tier, []).append(subnet_id)
    boto3_client("secretsmanager").create_secret(Name="orders-dev/database-password", SecretString="not-a-real-one")
    return {"vpc": vpc, **subnets}


def simulate_codedeploy_success(boto3_client) -> None:
    """What CodeDeploy leaves after a successful deployment: listeners on green, green the primary task set."""
    elbv2 = boto3_client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["orders-dev"])["LoadBalancers"][0]
    green = elbv2.describe_target_groups(Names=["orders-dev-green"])["TargetGroups"][0]["TargetGroupArn"]
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        elbv2.modify_listener(
            ListenerArn=listener["ListenerArn"],
            DefaultActions=[
                {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": green, "Weight": 100}]}}
            ],
        )
    ecs = boto3_client("ecs")
    service = ecs.describe_services(cluster="orders-dev", services=["orders-dev"])["services"][0]
    task_definition = ecs.register_task_definition(
        family="orders-dev",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "web", "image": "orders:2.0.0", "memory": 512, "portMappings": [{"containerPort": 8000}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    task_set = ecs.create_task_set(
        cluster="orders-dev",
        service="orders-dev",
        taskDefinition=task_definition,
        loadBalancers=[{"targetGroupArn": green, "containerName": "web", "containerPort": 8000}],
        networkConfiguration=service["networkConfiguration"],
        launchType="FARGATE",
    )["taskSet"]
    ecs.update_service_primary_task_set(
        cluster="orders-dev", service="orders-dev", primaryTaskSet=task_set["taskSetArn"]
    )


# The emulator does not keep a deployment group's alarmConfiguration (it answers {}), so each run would
# see the alarms as a change to make: alarms are left out of the group here (unit tests cover them).
# It runs no tasks either, so the new service's first migration is left to the sandbox's tests (tests/e2e).
PROVISION = (
    REPO_ROOT / "playbooks" / "provision.yml",
    "-i",
    "inventories/dev",
    "-e",
    "codedeploy_alarms_enabled=false",
    "-e",
    "ecs_service_migrate_on_create=false",
)


def changed_tasks(stdout: str) -> list[str]:
    tasks, current = [], None
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:") and current:
            tasks.append(current)
    return tasks


def test_provision_twice_then_after_a_deployment(ansible_playbook, boto3_client, dev_network) -> None:
    first = ansible_playbook(*PROVISION, inventory=None)
    assert recap(first.stdout)["failed"] == 0
    assert recap(first.stdout)["changed"] > 10

    # Idempotent: check mode predicts no change, and (below) a real run after a deployment changes nothing.
    drift = ansible_playbook(*PROVISION, "--check", "--diff", inventory=None)
    assert recap(drift.stdout)["changed"] == 0, changed_tasks(drift.stdout)

    simulate_codedeploy_success(boto3_client)
    third = ansible_playbook(*PROVISION, inventory=None)
    assert recap(third.stdout)["changed"] == 0, changed_tasks(third.stdout)

    elbv2 = boto3_client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["orders-dev"])["LoadBalancers"][0]
    green = elbv2.describe_target_groups(Names=["orders-dev-green"])["TargetGroups"][0]["TargetGroupArn"]
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        forwarded = listener["DefaultActions"][0]
        targets = forwarded.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": forwarded.get("TargetGroupArn")}
        ]
        assert [t["TargetGroupArn"] for t in targets] == [green], f"provision moved traffic on port {listener['Port']}"

    # deploy.yml up to the wait: the emulator stores the deployment but has no ListDeploymentTargets to follow
    # it with (and never runs it): the play fails there, saying so. The sandbox runs deployments for real. The
    # preflight is skipped: plain moto runs no task and simulates no policy (tests/e2e/test_preflight.py has it).
    deploy = ansible_playbook(
        REPO_ROOT / "deploy.yml",
        "-i",
        "inventories/dev",
        "-e",
        "image_tag=2.0.0",
        "-e",
        "skip_verify=true",
        inventory=None,
        check=False,
    )
    assert deploy.returncode == 2
    assert (
        "TASK [Deploy, reporting each lifecycle event or stage, hook and traffic step as it happens]" in deploy.stdout
    )
    assert "Deploy of 2.0.0 to orders-dev FAILED at task" in deploy.stdout
    assert "Unable to follow deployment" in deploy.stdout
    assert "Check what production serves: ansible-playbook playbooks/status.yml -i inventories/dev" in deploy.stdout
    codedeploy = boto3_client("codedeploy")
    (deployment_id,) = codedeploy.list_deployments(applicationName="orders-dev", deploymentGroupName="orders-dev")[
        "deployments"
    ]
    content = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["revision"]["appSpecContent"]
    assert "task-definition/orders-dev:3" in content["content"]  # 1: provision, 2: the simulated deployment
    assert '"BeforeAllowTraffic": "orders-dev-run-migrations"' in content["content"]
    task_definition = boto3_client("ecs").describe_task_definition(taskDefinition="orders-dev:3")["taskDefinition"]
    container = task_definition["containerDefinitions"][0]
    assert container["image"].endswith("/orders:2.0.0")
    assert {"name": "APP_VERSION", "value": "2.0.0"} in container["environment"]

    other = ansible_playbook(
        REPO_ROOT / "deploy.yml",
        *("-i", "inventories/dev", "-e", "image_tag=2.0.1", "-e", "skip_verify=true"),
        inventory=None,
        check=False,
    )
    assert other.returncode == 2
    assert f"Deployment {deployment_id} (Created, " in other.stdout
    assert "only one deployment can run at a time" in other.stdout

    # The operator's other playbooks against the same environment.
    # status_include_targets=false: the emulator has no ListDeploymentTargets.
    status = ansible_playbook(
        REPO_ROOT / "playbooks" / "status.yml",
        *("-i", "inventories/dev", "-e", "status_probe=false", "-e", "status_include_targets=false"),
        inventory=None,
    )
    assert f"Latest deployment: {deployment_id} Created" in status.stdout

    # The emulator cannot delete CodeDeploy applications or groups (DeleteApplication and
    # DeleteDeploymentGroup answer 500): tear down the rest here; the unit tests cover those deletions.
    teardown = ansible_playbook(
        REPO_ROOT / "playbooks" / "teardown.yml", "-i", "inventories/dev", "--skip-tags", "codedeploy", inventory=None
    )
    assert recap(teardown.stdout)["failed"] == 0
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert boto3_client("ecs").describe_clusters(clusters=["orders-dev"])["clusters"][0]["status"] == "INACTIVE"
    assert not [r for r in boto3_client("iam").list_roles()["Roles"] if r["RoleName"].startswith("orders-dev-")]
    assert boto3_client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["orders-dev"]}])["Vpcs"]

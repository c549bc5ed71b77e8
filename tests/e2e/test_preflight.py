"""The preflight (playbooks/verify.yml, run first by deploy.yml) in the session's provisioned environment: it passes
when the environment is healthy, and each scenario breaks one thing, shows verify naming it with its fix, and puts
it back. Where it matters, the same deploy without the preflight is shown failing later, as it would on AWS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sandbox.drivers.harness import NAMES
from tests.e2e.steps import failed_lines, verify

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]


def test_verify_passes_on_a_healthy_environment_in_seconds(sandbox):
    """Every check reads the provisioned environment, and the caller (the deploy credential) is simulated too."""
    code, output = verify(sandbox, "-e", "image_tag=1.0.0")
    assert code == 0, output[-5000:]
    assert failed_lines(output) == []
    passed = re.search(r"every check passed in ([0-9.]+) s \((\d+) not checked", output)
    assert passed, output[-3000:]
    for expected in (
        "OK          iam: caller sandbox-deploy: allowed every action",
        "OK          iam: role orders-local-hooks: allowed every action",
        "OK          reachability: test listener :8443: the hooks reach it through NAT",
        "OK          network: subnet-",
        "NOT CHECKED image: sandbox.local/orders:1.0.0: sandbox.local is not an ECR registry",
        "OK quotas: Fargate vCPU (Fargate On-Demand vCPU resource count): 1 vCPU during a deployment, quota 6",
        "OK alarms: orders-local: 6 alarm(s), none in ALARM (OK)",
    ):
        assert expected in " ".join(output.split()) or expected in output, (expected, output[-5000:])


def test_a_traffic_plan_without_its_deployment_config_is_refused_before_a_task_definition_is_registered(sandbox):
    """A plan whose CodeDeploy config was never provisioned: without the preflight, deploy registers a revision and
    makes its calls before CreateDeployment refuses the config; with it, the play stops in seconds naming the
    configs there are, and nothing is registered. A mistyped plan stops before any call, naming the accepted ones."""
    ecs = sandbox.client("ecs")

    def revisions() -> list[str]:
        return ecs.list_task_definitions(familyPrefix=NAMES["task_family"])["taskDefinitionArns"]

    before = revisions()
    version = sandbox.next_version()
    typo = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", "traffic=linar-15", check=False)
    assert typo.returncode == 2
    said = " ".join(typo.stdout.split())  # the callback wraps long lines
    assert 'traffic "linar-15" is not a traffic plan' in said, typo.stdout[-3000:]
    assert "linear-<percent>-every-<minutes>" in said
    assert "TASK [Preflight" not in typo.stdout, "a mistyped plan is refused before any call"

    plan = "traffic=linear-15-every-2"
    stopped = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", plan, check=False)
    assert stopped.returncode == 2
    lines = failed_lines(stopped.stdout)
    assert any(
        "inputs: traffic=linear-15-every-2: no such deployment config" in line
        and "orders-local-linear-15-every-2" in line
        for line in lines
    ), lines
    assert any("CodeDeployDefault.ECSAllAtOnce" in line for line in lines), lines
    assert revisions() == before, "the preflight registered nothing"

    later = sandbox.playbook(
        "deploy.yml", "-e", f"image_tag={version}", "-e", plan, "-e", "skip_verify=true", check=False
    )
    assert later.returncode == 2
    assert "DeploymentConfigDoesNotExistException" in later.stdout, later.stdout[-3000:]
    assert len(revisions()) == len(before) + 1, "without the preflight, a revision was registered first"


@contextmanager
def role_without(sandbox, role: str, sid: str) -> Iterator[None]:
    iam = sandbox.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    kept = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(document["Statement"]) - 1
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept}))
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def test_a_statement_removed_from_a_role_is_named_with_each_denied_action(sandbox):
    """The hook role without its reporting statement: a hook could not report, and CodeDeploy would wait for the
    lifecycle event's timeout. The preflight simulates the role's statements and names the denied pairs."""
    with role_without(sandbox, NAMES["roles"]["hooks"], "ReportAndListTargets"):
        code, output = verify(sandbox)
    assert code == 2
    (line,) = [line for line in failed_lines(output) if line.startswith("FAILED iam:")]
    assert "role orders-local-hooks: 3 needed permission(s) denied" in line
    assert "codedeploy:PutLifecycleEventHookExecutionStatus on * (ReportAndListTargets: implicitDeny)" in line
    assert "FIX: reprovision its policy: playbooks/provision.yml -i inventories/local" in line


def test_the_test_listener_closed_to_the_hooks_is_found(sandbox):
    """The load balancer is internet-facing: the hooks' requests arrive from the NAT gateway's public address. With
    the rule admitting it removed, the test-traffic hook would time out; the preflight says which address to
    admit on which port."""
    ec2, elbv2 = sandbox.client("ec2"), sandbox.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[NAMES["load_balancer"]])["LoadBalancers"][0]
    (group_id,) = balancer["SecurityGroups"]
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    nat_rules = [
        {**rule, "IpRanges": [r for r in rule["IpRanges"] if r["CidrIp"].startswith("192.0.2.")]}
        for rule in group["IpPermissions"]
        if rule.get("FromPort") == 8443 and any(r["CidrIp"].startswith("192.0.2.") for r in rule["IpRanges"])
    ]
    assert nat_rules, group["IpPermissions"]
    ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=nat_rules)
    try:
        code, output = verify(sandbox)
    finally:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=nat_rules)
    assert code == 2
    (line,) = [line for line in failed_lines(output) if line.startswith("FAILED reachability:")]
    assert "test listener :8443" in line
    assert "NAT gateways' public addresses ['192.0.2." in line
    assert "FIX: admit 192.0.2." in line
    assert "/32 on TCP 8443" in line


def test_an_active_deployment_is_found_and_deploy_follows_it(sandbox):
    """verify.yml refuses while a deployment is active (a new one would be refused); deploy.yml's own preflight
    lets it through, since deploy follows or replaces an active deployment itself."""
    version = sandbox.next_version()
    running = sandbox.start_playbook("deploy.yml", "-e", f"image_tag={version}")
    codedeploy = sandbox.client("codedeploy")
    group = {"applicationName": NAMES["codedeploy_application"], "deploymentGroupName": NAMES["deployment_group"]}
    sandbox.wait_for(
        "a deployment to be active",
        lambda: codedeploy.list_deployments(**group, includeOnlyStatuses=["InProgress"])["deployments"],
        timeout=120,
    )
    (active,) = codedeploy.list_deployments(**group, includeOnlyStatuses=["InProgress"])["deployments"]
    code, output = verify(sandbox)
    output_done, _ = running.communicate(timeout=600)
    assert running.returncode == 0, output_done[-4000:]
    assert code == 2
    (line,) = [line for line in failed_lines(output) if line.startswith("FAILED codedeploy:")]
    assert f"deployment {active} is still active" in line
    assert "-e replace_active=true" in line
    assert "checks OK" in output_done, "deploy's summary reports its preflight"
    code, output = verify(sandbox)
    assert code == 0, failed_lines(output)


def test_an_ecr_image_tag_that_does_not_exist_and_a_role_that_cannot_pull_it_are_found(sandbox):
    """The inventory switched to an ECR repository: verify looks the tag up (DescribeImages) and simulates the task
    execution role with the statements that repository needs (the role provisioned for another registry has
    none: its tasks could not pull, CannotPullContainerError)."""
    ecr = sandbox.client("ecr")
    ecr.create_repository(repositoryName="orders-preflight")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    ecr.put_image(repositoryName="orders-preflight", imageManifest=json.dumps(manifest), imageTag="1.0.0")
    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-preflight"
    try:
        code, output = verify(sandbox, "-e", f"ecs_service_image_repository={repository}", "-e", "image_tag=9.9.9")
        present, present_output = verify(
            sandbox, "-e", f"ecs_service_image_repository={repository}", "-e", "image_tag=1.0.0"
        )
    finally:
        ecr.delete_repository(repositoryName="orders-preflight", force=True)
    assert code == 2
    lines = failed_lines(output)
    (image,) = [line for line in lines if line.startswith("FAILED image:")]
    assert f"{repository}:9.9.9: no image tagged 9.9.9 in ECR repository orders-preflight" in image
    (role,) = [line for line in lines if line.startswith("FAILED iam:")]
    assert "role orders-local-task-execution" in role
    assert "ecr:BatchGetImage on arn:aws:ecr:eu-west-1:123456789012:repository/orders-preflight" in role
    assert present == 2, "the tag exists, the role still cannot pull it"
    assert [line.split(":")[0] for line in failed_lines(present_output)] == ["FAILED iam"]
    assert "OK image: " in " ".join(present_output.split())

"""The local environment's last scenario (its group runs the files in name order): it goes away with teardown.yml."""

from __future__ import annotations

import socket

import pytest

from sandbox.drivers.harness import APP, NAMES, PROD_PORT

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]

ENV = APP.split("-", 1)[1]  # local


def test_teardown_removes_everything_and_stops_the_tasks(sandbox, worker_alone):
    """Last: the environment goes away, its tasks stop and the load balancer stops listening. The further
    service first (test_services.py): the cluster stays for the other, which keeps serving. (Other environments of
    the sandbox may still run beside: what is checked is this environment's.)"""
    worker = sandbox.playbook("playbooks/teardown.yml", "-e", "service=worker")
    assert "Cluster orders-local stays: other services of the environment are in it (orders-local)." in worker.stdout
    assert balancers_of_the_environment(sandbox) == [sandbox.balancer]
    assert len(sandbox.versions_served(5)) == 1

    address = sandbox.balancer["DNSName"]
    elbv2 = sandbox.client("elbv2")
    tasks = [
        (d["Target"]["Id"], d["Target"]["Port"])
        for group in elbv2.describe_target_groups(Names=NAMES["target_groups"])["TargetGroups"]
        for d in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    ]
    assert len(tasks) == 2

    def lambda_interfaces() -> list[dict]:
        return [
            eni
            for eni in sandbox.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
            if eni.get("Description", "").startswith(f"AWS Lambda VPC ENI-{APP}-")
        ]

    assert lambda_interfaces(), "the hook functions (in the VPC) have network interfaces, as on AWS"
    result = sandbox.playbook("playbooks/teardown.yml")
    assert "failed=0" in result.stdout[result.stdout.rindex("PLAY RECAP") :]
    # Lambda's network interfaces outlived their functions and held the hooks' security group: teardown said so
    # and waited for them instead of failing with DependencyViolation.
    assert "network interface(s) of the deleted hook functions remain" in result.stdout
    assert "FAILED - RETRYING: [localhost]: Wait for the hook functions' network interfaces to go" in result.stdout
    assert lambda_interfaces() == []
    codedeploy = sandbox.client("codedeploy")
    assert [a for a in codedeploy.list_applications()["applications"] if a.startswith(APP)] == []
    # The last service took the environment's cluster with it.
    assert sandbox.client("ecs").describe_clusters(clusters=[APP])["clusters"][0]["status"] == "INACTIVE"
    assert not [r for r in sandbox.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{APP}-")]
    assert balancers_of_the_environment(sandbox) == []
    alarms = sandbox.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{APP}-")["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == []

    def nothing_listens(host: str, port: int) -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        return False

    for host, port in tasks:
        sandbox.wait_for(f"the task at {host}:{port} to stop", lambda h=host, p=port: nothing_listens(h, p), timeout=60)
    sandbox.wait_for("the load balancer to stop listening", lambda: nothing_listens(address, PROD_PORT), timeout=30)
    again = sandbox.playbook("playbooks/teardown.yml")
    assert "changed=0" in again.stdout[again.stdout.rindex("PLAY RECAP") :]
    # An environment whose cluster AWS has already forgotten (or that never was): nothing to do, no failure
    # (its operator policies exist: the provisioner may look, and finds nothing).
    sandbox.grant_operator_access("-e", "bluegreen_env=never")
    never = sandbox.playbook("playbooks/teardown.yml", "-e", "bluegreen_env=never")
    assert "changed=0" in never.stdout[never.stdout.rindex("PLAY RECAP") :]


def balancers_of_the_environment(sandbox) -> list[dict]:
    return [
        balancer
        for balancer in sandbox.client("elbv2").describe_load_balancers()["LoadBalancers"]
        if balancer["LoadBalancerName"].startswith(APP)
    ]

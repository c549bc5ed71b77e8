"""Last (pytest runs the files in name order): the environment goes away with teardown.yml."""

from __future__ import annotations

import socket

from sandbox.harness import APP, PROD_PORT


def test_teardown_removes_everything_and_stops_the_tasks(sandbox):
    """Last: the environment goes away, its tasks stop and the load balancer stops listening."""
    address = sandbox.balancer["DNSName"]
    elbv2 = sandbox.client("elbv2")
    tasks = [
        (d["Target"]["Id"], d["Target"]["Port"])
        for group in elbv2.describe_target_groups(Names=[f"{APP}-blue", f"{APP}-green"])["TargetGroups"]
        for d in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    ]
    assert len(tasks) == 2
    result = sandbox.playbook("playbooks/teardown.yml")
    assert "failed=0" in result.stdout[result.stdout.rindex("PLAY RECAP") :]
    codedeploy = sandbox.client("codedeploy")
    assert codedeploy.list_applications()["applications"] == []
    assert sandbox.client("elbv2").describe_load_balancers()["LoadBalancers"] == []

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

"""Two services in one environment: inventories/local's own (orders) and services/worker.yml, each with a stack of
its own (load balancer, target groups, listeners, deployment group, hooks, alarms, roles) in the environment's
cluster. Both deploy blue/green at the same time; one rolls back while the other keeps serving; neither fails a
request. The worker's own scenarios (test_worker_service.py) run beside the application's; this one waits for them to
end (the "worker" lock), then deploys both."""

from __future__ import annotations

import pytest

from sandbox.drivers.harness import PROD_PORT
from sandbox.drivers.observe import LoadGenerator

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]

WORKER = "worker"


def serving(sandbox, service: str | None = None) -> str:
    served = sandbox.versions_served(10, service=service)
    assert len(served) == 1, f"{service or 'orders'} serves a mix: {served}"
    return next(iter(served))


def test_two_services_deploy_side_by_side_and_one_rolls_back_while_the_other_serves(sandbox, worker_alone):
    worker = sandbox.names(WORKER)
    # Provisioned in the same sandbox as the application's own service, with the same playbook and inventory.
    assert worker["name"] == "orders-local-worker"
    assert "TASK [codedeploy : Deployment group" in worker_alone["output"]
    # Its own stack, in the environment's cluster, first version migrated and serving (before its scenarios).
    assert worker["cluster"] == sandbox.names()["cluster"]
    assert worker_alone["first_served"] == {"1.0.0": 10}
    worker_before = serving(sandbox, WORKER)
    services = sandbox.client("ecs").list_services(cluster=worker["cluster"])["serviceArns"]
    assert sorted(arn.rsplit("/", 1)[1] for arn in services) == ["orders-local", "orders-local-worker"]

    orders_before = serving(sandbox)
    orders_version, worker_version, worker_next = (sandbox.next_version() for _ in range(3))
    loads = {
        service: LoadGenerator(sandbox.balancer_of(service)["DNSName"], PROD_PORT, rate=20).start()
        for service in (None, WORKER)
    }
    try:
        # Both at once, each through its own deployment group (orders: linear; the worker: all at once).
        deploys = [
            sandbox.start_playbook("deploy.yml", "-e", f"image_tag={orders_version}"),
            sandbox.start_playbook("deploy.yml", "-e", f"service={WORKER}", "-e", f"image_tag={worker_version}"),
        ]
        for deploy in deploys:
            output, _ = deploy.communicate(timeout=600)
            assert deploy.returncode == 0, output[-4000:]
        assert f"Deployed {worker_version} to orders-local-worker: " in output
        assert serving(sandbox) == orders_version
        assert serving(sandbox, WORKER) == worker_version
        orders_deployments = len(sandbox.deployments())

        # The worker's next version, then rolled back to the one before, while orders serves on untouched.
        sandbox.playbook("deploy.yml", "-e", f"service={WORKER}", "-e", f"image_tag={worker_next}")
        assert serving(sandbox, WORKER) == worker_next
        rollback = sandbox.playbook("playbooks/rollback.yml", "-e", f"service={WORKER}")
    finally:
        samples = {service: load.stop() for service, load in loads.items()}

    assert "redeployed by" in rollback.stdout
    assert serving(sandbox, WORKER) == worker_version
    redeploy = sandbox.latest(service=WORKER)
    assert redeploy["description"].startswith(f"rollback to {worker['task_family']}:")
    assert serving(sandbox) == orders_version
    assert len(sandbox.deployments()) == orders_deployments, "orders saw a deployment it was not asked for"
    for service, taken in samples.items():
        assert len(taken) > 200, service
        assert LoadGenerator.failed(taken) == [], f"{service or 'orders'} failed requests"
    assert set(LoadGenerator.by_version(samples[None])) == {orders_before, orders_version}
    assert set(LoadGenerator.by_version(samples[WORKER])) == {worker_before, worker_version, worker_next}

"""A CodeDeploy environment of its own (`mig`, inventories/local's settings) moved to the ECS controller by
playbooks/migrate_controller.yml under steady load: refused while a CodeDeploy deployment is active, then moved with
production on the group CodeDeploy left it on; deployed through ECS afterwards; moved again: nothing to do. Then the
way back under load: the service replaced under its name while a bridge serves the group ECS left production on;
deployed through CodeDeploy afterwards; moved back again: nothing to do.

The scenarios are a sequence by nature: each says what state it starts from, and run alone (`-k`) brings the
environment there itself with the same playbook (a move is idempotent: run where the service is already, it changes
nothing)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from sandbox.drivers.harness import PROD_PORT, Sandbox
from sandbox.drivers.observe import LoadGenerator
from tests.e2e.expect import serving
from tests.e2e.steps import served, words

pytestmark = pytest.mark.xdist_group("migration")

MIG_INVENTORY, MIG_ENV = "inventories/local", "mig"


@pytest.fixture(scope="module")
def mig(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The `mig` environment on CodeDeploy, provisioned; torn down after the module's last scenario, told the
    controller the environment ended with. Its playbooks run at a lower CPU priority than the application service's
    scenarios (the run's longest sequence)."""
    with sandbox.lock("shared", shared=True):
        secrets = sandbox.client("secretsmanager")
        with contextlib.suppress(secrets.exceptions.ResourceExistsException):  # made by an earlier run of the module
            secrets.create_secret(Name="orders-mig/api-token", SecretString="mig-token-not-a-secret")
        extra = tmp_path_factory.mktemp("mig") / "mig.json"
        extra.write_text(
            json.dumps(
                {
                    "bluegreen_env": MIG_ENV,
                    # The local plan (linear 20 % every minute): its own deployment config,
                    # orders-mig-linear-20-every-1 (the environment's operators may manage only theirs).
                    "ecs_service_secrets": {"API_TOKEN": "orders-mig/api-token"},
                    "ecs_service_environment": {"DATABASE_URL": f"sqlite:///{sandbox.home}/orders-mig.db"},
                }
            )
        )
        box = sandbox.environment(MIG_INVENTORY, MIG_ENV).deprioritized()
        box.extra = ("-e", f"@{extra}")
        box.grant_operator_access(*box.extra)
        try:  # a provision that fails half-way is torn down too: the run's last checks count every environment
            box.playbook("playbooks/provision.yml", *box.extra)
            yield box
        finally:
            # A way back stopped half way (no service, the bridge serving) is torn down as an ECS one.
            ended_with = controller_of(box) or "ecs"
            teardown = box.playbook("playbooks/teardown.yml", *told(box, ended_with), check=False)
        assert teardown.returncode == 0, teardown.stdout[-4000:]
        assert "is torn down" in teardown.stdout, teardown.stdout[-4000:]


def told(box, controller: str) -> tuple[str, ...]:
    """A playbook's extra vars, the environment's inventory saying this controller (ecs, codedeploy)."""
    return (*box.extra, "-e", f"bluegreen_controller={controller}")


def described(box, name: str) -> dict | None:
    """The environment's ECS service of that name as DescribeServices has it (a deleted one stays, INACTIVE)."""
    cluster = box.names()["cluster"]
    return next(iter(box.client("ecs").describe_services(cluster=cluster, services=[name])["services"]), None)


def controller_of(box) -> str | None:
    """Which controller deploys the environment's service now (codedeploy, ecs), as migrate_controller.yml reads it;
    None while a way back to CodeDeploy that stopped half way has replaced it (its bridge serving)."""
    service = described(box, box.names()["ecs_service"])
    if service is None or service["status"] != "ACTIVE":
        return None
    return "codedeploy" if service.get("deploymentController", {}).get("type") == "CODE_DEPLOY" else "ecs"


def moved_back(box) -> bool:
    """The service is one a way back to CodeDeploy made: deployed by CodeDeploy, and the bridge that served while it
    was replaced deleted since."""
    bridge = described(box, box.names()["bridge_service"])
    return controller_of(box) == "codedeploy" and bridge is not None and bridge["status"] != "ACTIVE"


def moved_to(box, controller: str) -> None:
    """The service deployed by this controller (ecs, codedeploy), moved there if it is not: where a scenario that runs
    alone must start. A way back stopped half way is finished first (the playbook goes nowhere else from there)."""
    now = controller_of(box)
    if now is None:
        box.playbook("playbooks/migrate_controller.yml", *told(box, "codedeploy"))
        now = "codedeploy"
    if now != controller:
        box.playbook("playbooks/migrate_controller.yml", *told(box, controller))


def under_load(box, run, samples: list) -> dict:
    """What a playbook run under load saw: its exit code and output, the requests (failed, by version) and what
    production serves afterwards."""
    return {
        "code": run.returncode,
        "output": run.stdout,
        "samples": len(samples),
        "failed": [repr(s) for s in LoadGenerator.failed(samples)],
        "by_version": dict(LoadGenerator.by_version(samples)),
        "served": served(box, 20),
    }


def deployed(box, flags: tuple[str, ...]) -> dict:
    """A deploy of the next version with these flags: its exit code and output, what production serves after it."""
    version = box.next_version()
    run = box.playbook("deploy.yml", *flags, "-e", f"image_tag={version}", check=False)
    return {"code": run.returncode, "output": run.stdout, "served": served(box, 20), "version": version}


def test_the_move_to_ecs_is_refused_while_a_codedeploy_deployment_is_active(mig):
    """Starts from the service as provisioned (on CodeDeploy, nothing deployed since: the module's first scenario).
    A CodeDeploy deployment in progress: the move is refused, nothing changed."""
    version = mig.next_version()
    deploy = mig.start_playbook("deploy.yml", *mig.extra, "-e", f"image_tag={version}")
    mig.wait_for("the CodeDeploy deployment", lambda: mig.active_deployment() is not None, timeout=120)
    refused = mig.playbook("playbooks/migrate_controller.yml", *told(mig, "ecs"), check=False)
    output, _ = deploy.communicate(timeout=600)
    assert deploy.returncode == 0, output[-4000:]
    assert refused.returncode != 0
    assert "Not moved, nothing changed: CodeDeploy deployment" in words(refused.stdout)
    # The deployment went on under CodeDeploy and ended with one task set serving it.
    assert served(mig) == {version: 10}
    task_sets = mig.task_sets()
    assert len(task_sets) == 1
    # CodeDeploy left production on green: the move must keep serving from there.
    assert ":targetgroup/orders-mig-green/" in task_sets[0]["loadBalancers"][0]["targetGroupArn"]


def test_migrate_controller_moves_a_live_service_under_load_without_a_failed_request(mig):
    """Starts from the service on CodeDeploy, no deployment active (as provisioned, or as the scenario above leaves
    it). The move, under load: production keeps being served by the same tasks."""
    moved_to(mig, "codedeploy")
    version = serving(mig)
    load = LoadGenerator(mig.balancer["DNSName"], PROD_PORT, rate=30).start()
    try:
        time.sleep(2)
        run = mig.playbook("playbooks/migrate_controller.yml", *told(mig, "ecs"), check=False)
        time.sleep(2)
    finally:
        samples = load.stop()
    moved = under_load(mig, run, samples)
    (service,) = mig.client("ecs").describe_services(cluster="orders-mig", services=["orders-mig"])["services"]
    assert moved["code"] == 0, moved["output"][-4000:]
    assert moved["failed"] == [], moved["failed"][:5]
    assert moved["samples"] > 100
    assert moved["by_version"] == {version: moved["samples"]}  # the same version throughout
    # UpdateService with loadBalancers starts a service deployment: the move followed it through its hooks.
    assert "deployment SUCCESSFUL" in words(moved["output"]), moved["output"][-4000:]
    assert "orders-mig-run-migrations" in words(moved["output"])
    assert moved["served"] == {version: 20}
    assert service["deploymentController"]["type"] == "ECS"
    assert service["deploymentConfiguration"]["strategy"] == "LINEAR"
    assert service.get("taskSets", []) == []
    # CodeDeploy's application went.
    assert "orders-mig" not in mig.client("codedeploy").list_applications()["applications"]


def test_a_moved_service_deploys_through_ecs_and_a_second_move_changes_nothing(mig):
    """Starts from the service moved to ECS (the scenario above's product; alone, it moves the service itself
    first). Deployed through ECS afterwards; a second move changes nothing."""
    moved_to(mig, "ecs")
    through_ecs = deployed(mig, told(mig, "ecs"))
    again = mig.playbook("playbooks/migrate_controller.yml", *told(mig, "ecs")).stdout
    assert through_ecs["code"] == 0, through_ecs["output"][-4000:]
    assert "deployment SUCCESSFUL" in words(through_ecs["output"])
    assert through_ecs["served"] == {through_ecs["version"]: 20}
    assert "is deployed by ECS itself already, as inventories/mig says: nothing to move" in words(again)


def test_the_way_back_replaces_the_service_under_load_without_a_failed_request(mig):
    """ECS -> CodeDeploy (AWS documents no in-place move back): a bridge serves the group ECS left production on
    while the service is replaced under its name as a CODE_DEPLOY service in that group. The first run is killed
    once the ECS service is gone; the second goes on from there. The load ran across both.

    Starts from the service on ECS (as the scenarios above leave it; alone, it moves the service there itself
    first)."""
    moved_to(mig, "ecs")
    version = serving(mig)
    serving_before_back = mig.serving_target_group()
    client = mig.client("ecs")
    load = LoadGenerator(mig.balancer["DNSName"], PROD_PORT, rate=30).start()
    try:
        time.sleep(2)
        # Killed once the ECS service is gone, the bridge serving alone (a lost terminal, a cancelled job)...
        first = mig.start_playbook("playbooks/migrate_controller.yml", *told(mig, "codedeploy"), new_session=True)
        mig.wait_for(
            "the ECS service deleted by the way back",
            lambda: (
                first.poll() is not None
                or client.describe_services(cluster="orders-mig", services=["orders-mig"])["services"][0]["status"]
                == "INACTIVE"
            ),
            timeout=600,
        )
        os.killpg(first.pid, signal.SIGKILL)
        interrupted_output, _ = first.communicate(timeout=60)
        listed_while_interrupted = [
            arn.rsplit("/", 1)[1] for arn in client.list_services(cluster="orders-mig")["serviceArns"]
        ]
        # ... then run again: it goes on where it stopped.
        run = mig.playbook("playbooks/migrate_controller.yml", *told(mig, "codedeploy"), check=False)
        time.sleep(2)
    finally:
        samples = load.stop()
    back = under_load(mig, run, samples)
    serving_after_back = mig.serving_target_group()
    rules = mig.listener_rules()
    (service,) = client.describe_services(cluster="orders-mig", services=["orders-mig"])["services"]
    listed = [arn.rsplit("/", 1)[1] for arn in client.list_services(cluster="orders-mig")["serviceArns"]]
    applications = mig.client("codedeploy").list_applications()["applications"]

    assert first.returncode == -9, interrupted_output[-3000:]  # killed, not ended
    assert listed_while_interrupted == ["orders-mig-bridge"]  # the service deleted, the bridge serving alone
    assert back["code"] == 0, back["output"][-4000:]
    assert back["failed"] == [], back["failed"][:5]
    assert back["samples"] > 100
    assert back["by_version"] == {version: back["samples"]}  # the same version throughout: nothing was deployed
    assert back["served"] == {version: 20}
    # Production stays on the group ECS left it on, now through the listeners' default actions: no rule is left.
    assert serving_after_back == serving_before_back
    assert rules == {8080: [], 8443: []}
    assert service["deploymentController"]["type"] == "CODE_DEPLOY"
    (task_set,) = service.get("taskSets", [])
    assert f":targetgroup/{serving_after_back}/" in task_set["loadBalancers"][0]["targetGroupArn"]
    assert listed == ["orders-mig"]  # the bridge is gone
    assert "orders-mig" in applications
    assert "is deployed by CodeDeploy again" in words(back["output"])


def test_a_service_moved_back_deploys_through_codedeploy_and_a_second_move_changes_nothing(mig):
    """Starts from a service moved back to CodeDeploy (the scenario above's product; alone, it moves the service to
    ECS and back itself first). Deployed through CodeDeploy afterwards; moved back again: nothing to do."""
    if not moved_back(mig):
        moved_to(mig, "ecs")
        moved_to(mig, "codedeploy")
    redeployed = deployed(mig, told(mig, "codedeploy"))
    back_again = mig.playbook("playbooks/migrate_controller.yml", *told(mig, "codedeploy")).stdout
    assert redeployed["code"] == 0, redeployed["output"][-4000:]
    assert redeployed["served"] == {redeployed["version"]: 20}
    assert "is deployed by CodeDeploy already, as inventories/mig says: nothing to move" in words(back_again)

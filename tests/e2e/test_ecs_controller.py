"""The ECS controller (bluegreen_controller: ecs, inventories/local-ecs) through the same playbooks as CodeDeploy's:
each scenario of tests/e2e/test_bluegreen.py where the ECS path differs, in an environment of its own (`orders-ecs`)
that the module's fixture provisions and tears down. Provision; a deploy and a rollback under load; readiness and
migration failures; a bad canary rolled back by its alarm; manual promote; another revision's deploy refused, then
replacing the waiting one; rollback during a deployment; the operator's deploy killed mid-deployment and run again;
provision and the drift check after deployments.

Each scenario starts from whatever version production serves when it begins, and leaves the service's plan as the
inventory has it (a scenario that provisions another puts the inventory's back), so any of them runs alone (`-k`)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import httpx2 as httpx
import pytest

from module_utils.ecs.deployments import newest_first, service_deployment_briefs
from sandbox.drivers.canary import bad_canary, blast_radius
from sandbox.drivers.harness import BIN, PROD_PORT, Sandbox
from sandbox.drivers.observe import LoadGenerator
from tests.e2e.expect import assert_blast_radius_as_predicted
from tests.e2e.images import app_with_a_failing_migration
from tests.e2e.steps import served, words

pytestmark = pytest.mark.xdist_group("ecs")

ECS_INVENTORY, ECS_ENV = "inventories/local-ecs", "ecs"
ECS_TERMINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


@pytest.fixture(scope="module")
def ecs(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The ECS controller's environment, provisioned (that first provision's run kept as `provisioned`: the first
    scenarios look at it), torn down after the module's last scenario. Its playbooks run at a lower CPU priority than
    the application service's scenarios (the run's longest sequence)."""
    with sandbox.lock("shared", shared=True):
        box = sandbox.environment(ECS_INVENTORY, ECS_ENV).deprioritized()
        box.grant_operator_access()
        try:  # a provision that fails half-way is torn down too: the run's last checks count every environment
            box.provisioned = box.playbook("playbooks/provision.yml")
            yield box
        finally:
            teardown = box.playbook("playbooks/teardown.yml", check=False)
        assert teardown.returncode == 0, teardown.stdout[-4000:]
        assert "is torn down" in teardown.stdout


def ecs_deployments(box) -> list[dict]:
    """Every service deployment of the environment's service, newest first (ListServiceDeployments names no order
    and pages; DescribeServiceDeployments takes 20 ARNs a call)."""
    client, model = box.client("ecs"), box.names()
    briefs = service_deployment_briefs(
        client.list_service_deployments, cluster=model["cluster"], service=model["ecs_service"], maxResults=100
    )
    arns = [b["serviceDeploymentArn"] for b in briefs]
    found = []
    for start in range(0, len(arns), 20):
        found += client.describe_service_deployments(serviceDeploymentArns=arns[start : start + 20])[
            "serviceDeployments"
        ]
    return newest_first(found)


def watch_service(box) -> Callable[[], dict]:
    """Start the AWS CLI's `ecs wait services-stable` on the environment's service and poll DescribeServices each
    second beside it; the returned function waits for the waiter and gives what was seen."""
    model = box.names()
    started = time.time()
    waiter = subprocess.Popen(
        [
            str(BIN / "aws"),
            *("ecs", "wait", "services-stable"),
            *("--cluster", model["cluster"], "--services", model["ecs_service"]),
        ],
        env=box.client_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    views: list[dict] = []
    client = box.client("ecs")

    def poll() -> None:
        while waiter.poll() is None:
            (service,) = client.describe_services(cluster=model["cluster"], services=[model["ecs_service"]])["services"]
            views.append(
                {
                    "at": time.time(),
                    "deployments": [
                        (d["status"], d.get("rolloutState"), d["taskDefinition"].rsplit("/", 1)[-1], d["runningCount"])
                        for d in service["deployments"]
                    ],
                    "task_definition": service["taskDefinition"].rsplit("/", 1)[-1],
                    "running": service["runningCount"],
                    "desired": service["desiredCount"],
                }
            )
            time.sleep(1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()

    def seen() -> dict:
        output, _ = waiter.communicate(timeout=900)
        returned = time.time()
        poller.join(timeout=10)
        deployment = ecs_deployments(box)[0]
        return {
            "code": waiter.returncode,
            "output": output,
            "started": started,
            "returned": returned,
            "finished": deployment["finishedAt"].timestamp() if deployment.get("finishedAt") else None,
            "status": deployment["status"],
            "views": views,
        }

    return seen


def hooks_invoked(box, deployment_arn: str) -> dict[str, list[str]]:
    """Each hook function's log lines about a service deployment (its id), by function suffix."""
    logs, model = box.client("logs"), box.names()
    deployment_id = deployment_arn.rsplit("/", 1)[-1]
    return {
        suffix: [
            e["message"]
            for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{deployment_id}"')[
                "events"
            ]
        ]
        for suffix, name in model["hook_functions"].items()
    }


def migration_exit_codes(box) -> list:
    """The exit codes of the environment's migration tasks so far (tagged as migrations by whoever started them)."""
    client, model = box.client("ecs"), box.names()
    arns = client.list_tasks(cluster=model["cluster"], family=model["task_family"], desiredStatus="STOPPED")["taskArns"]
    tasks = client.describe_tasks(cluster=model["cluster"], tasks=arns, include=["TAGS"])["tasks"] if arns else []
    return [
        task["containers"][0].get("exitCode")
        for task in tasks
        if {"key": "bluegreen:purpose", "value": "migration"} in (task.get("tags") or [])
    ]


def active(box) -> dict | None:
    """The service deployment under way, if any."""
    return next((d for d in ecs_deployments(box) if d["status"] not in ECS_TERMINAL), None)


def paused(box) -> str | None:
    """The active service deployment's ARN when it waits at its PAUSE hook (for promote.yml), else None."""
    deployment = active(box) or {}
    waiting = any(
        h.get("targetType") == "PAUSE" and h["status"] == "AWAITING_ACTION"
        for h in deployment.get("lifecycleHookDetails", [])
    )
    return deployment["serviceDeploymentArn"] if waiting else None


def deploy_until_shifting(box, version: str) -> subprocess.Popen[str]:
    """A deploy started in the background, once its service deployment shifts production traffic."""
    deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
    box.wait_for(
        "the production traffic shift",
        lambda: (active(box) or {}).get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT",
        timeout=180,
    )
    return deploy


def test_provision_makes_an_ecs_native_service_with_listener_rules_and_no_codedeploy(ecs):
    """The module's provision (the environment's first: nothing deployed since)."""
    output = ecs.provisioned.stdout

    def result_of(task: str) -> str:
        found = re.search(re.escape(task) + r"[^\n]*\n(\w+):", output)
        assert found, f"no task {task!r} in the provision's output"
        return found.group(1)

    assert result_of("TASK [load_balancer : Listener rules of a new load balancer") == "changed"
    assert result_of("TASK [ecs_service : The service, deploying itself blue/green") == "changed"
    # The ECS controller's provider of the service role ran; CodeDeploy's (present_codedeploy.yml) was not included.
    assert "TASK [ecs_service : The service as its deployment controller has it - ecs]" in output
    assert "TASK [ecs_service : The service, blue/green through CodeDeploy" not in output
    assert result_of("TASK [codedeploy : CodeDeploy, present]") == "skipping"  # no CodeDeploy resources
    assert served(ecs) == {"1.0.0": 10}


def test_a_new_services_first_deployment_runs_every_hook_and_its_migrations_create_the_schema(ecs):
    """ECS invokes the lifecycle hooks for CreateService too (AWS's sample hooks tell a first deployment from an
    update): provisioning follows that deployment instead of migrating beside it, the migration hook creates the
    schema before the test-traffic hook's smoke requests (the reverse of a later deployment's order), and the
    service starts without its manual-promote pause, which nothing would continue.

    Looks at the module's provision, before any deploy: this scenario comes right after it."""
    output = words(ecs.provisioned.stdout)
    assert "Follow the new service's first deployment" in output
    assert "deployment SUCCESSFUL" in output, output[-3000:]
    (first,) = ecs_deployments(ecs)
    # Every hook was invoked for it and succeeded (each function's own log, by the deployment's id).
    for hook, lines in hooks_invoked(ecs, first["serviceDeploymentArn"]).items():
        assert any('"message": "Succeeded"' in line for line in lines), (hook, lines[-3:])
    assert first["sourceServiceRevisions"] == []
    assert first["status"] == "SUCCESSFUL"
    # The migration hook ran the first schema's migration: one task, which exited 0; provisioning ran none itself.
    codes = migration_exit_codes(ecs)
    assert codes == [0], codes


def test_a_linear_deploy_and_the_rollback_after_it_under_load_lose_no_request(ecs):
    """A LINEAR deploy (20 % a step) and the rollback after it, under load: zero downtime."""
    version = ecs.next_version()
    load = LoadGenerator(ecs.balancer["DNSName"], PROD_PORT, rate=30).start()
    try:
        deploy = ecs.playbook("deploy.yml", "-e", f"image_tag={version}").stdout
        served_deployed = served(ecs)
        during_deploy = len(load.samples)
        rollback_after = ecs.playbook("playbooks/rollback.yml").stdout
        time.sleep(1)
    finally:
        samples = load.stop()
    failed = [repr(s) for s in LoadGenerator.failed(samples)]
    assert failed == [], failed[:5]
    assert len(samples) > during_deploy > 200
    assert LoadGenerator.by_version(samples)[version] > 0
    output = words(deploy)
    # Each traffic step of the LINEAR strategy (20 % a step), reported as it happened, then the bake time.
    for share in (20, 40, 60, 80, 100):
        assert f"replacement {share}%" in output, output[-3000:]
    assert "stage BAKE_TIME" in output
    assert "deployment SUCCESSFUL" in output
    assert "Seconds per lifecycle stage:" in output
    assert served_deployed == {version: 10}
    assert "redeployed" in rollback_after
    assert version not in served(ecs)


def test_describe_services_follows_an_ecs_native_deployment_and_services_stable_waits_for_its_end(ecs):
    """DescribeServices' deployments during a LINEAR deployment as AWS is observed to show them: the new revision
    PRIMARY (IN_PROGRESS) and the previous ACTIVE, both running, until the deployment ends, bake time included; then
    one PRIMARY, COMPLETED, of the new task definition. The AWS CLI's services-stable waiter returns only after the
    service deployment finished.

    Its own deploy of the next version (the one under load is the scenario above's), which it leaves serving."""
    deploy = ecs.start_playbook("deploy.yml", "-e", f"image_tag={ecs.next_version()}")
    ecs.wait_for("the service deployment", lambda: active(ecs) is not None, timeout=180)
    # A client that follows the service, not its deployment: the AWS CLI's services-stable waiter, and what
    # DescribeServices shows meanwhile.
    watched = watch_service(ecs)
    output, _ = deploy.communicate(timeout=900)
    assert deploy.returncode == 0, output[-4000:]
    view = watched()
    assert view["code"] == 0, view["output"]
    assert view["status"] == "SUCCESSFUL"
    assert view["finished"] is not None, view
    assert view["returned"] >= view["finished"], view
    during = [v for v in view["views"] if v["at"] < view["finished"]]
    assert any(len(v["deployments"]) == 2 for v in during), during[-5:]
    for v in during:
        if len(v["deployments"]) == 2:
            (primary, previous) = v["deployments"]
            assert (primary[0], primary[1], previous[0]) == ("PRIMARY", "IN_PROGRESS", "ACTIVE"), v
    last = view["views"][-1]
    ((status, rollout, definition, running),) = last["deployments"]
    assert (status, rollout) == ("PRIMARY", "COMPLETED"), last
    assert definition == last["task_definition"], last
    assert running == last["desired"], last


def test_readiness_failure_rolls_back_at_post_test_traffic_shift(ecs):
    """/ready fails on the test listener; ECS rolls back at POST_TEST_TRAFFIC_SHIFT."""
    bad = ecs.next_version()
    spec = json.loads(json.dumps(ecs.config["images"]["orders"]))
    spec["environment"].update({"READY_DEPENDENCIES": '["tcp://127.0.0.1:9"]'})
    ecs.add_image(f"orders:{bad}", spec)
    result = ecs.playbook("deploy.yml", "-e", f"image_tag={bad}", check=False)
    output = words(result.stdout)
    assert result.returncode != 0
    assert "ended ROLLBACK_SUCCESSFUL" in output, output[-3000:]
    assert "validate-test-traffic" in output
    assert "Production is served by the previous revision" in output
    # Why, from the hook's own log (ECS only says it FAILED).
    assert "The hook said: orders-ecs-validate-test-traffic: GET /ready on the test listener" in output, output[-3000:]
    after = served(ecs, 20)
    assert len(after) == 1
    assert sum(after.values()) == 20


def test_a_failing_migration_rolls_back_and_production_keeps_serving(ecs, tmp_path):
    """Rolled back at POST_TEST_TRAFFIC_SHIFT, the data kept."""
    before = served(ecs, 20)
    # The table has a row (SQLite refuses a NOT NULL column without a default only on a table with rows, as
    # PostgreSQL does).
    item = httpx.post(ecs.url() + "/items", json={"sku": "ECS-1", "name": "kept", "quantity": 3}, timeout=5).json()
    app = app_with_a_failing_migration(tmp_path)
    broken = ecs.next_version()
    spec = json.loads(json.dumps(ecs.config["images"]["orders"]))
    spec.update(workdir=str(app))
    spec["environment"].update({"PYTHONPATH": str(app)})
    ecs.add_image(f"orders:{broken}", spec)
    result = ecs.playbook("deploy.yml", "-e", f"image_tag={broken}", check=False)
    output = words(result.stdout)
    assert result.returncode != 0
    assert "ended ROLLBACK_SUCCESSFUL" in output, output[-3000:]
    assert "run-migrations" in output
    assert served(ecs, 20) == before
    # The data written before the failed migration is there.
    assert httpx.get(ecs.url() + f"/items/{item['id']}", timeout=5).json()["name"] == "kept"


def test_a_version_failing_real_requests_is_rolled_back_by_its_alarm_during_the_canary(ecs):
    """The alarm scenario of tests/e2e/test_worker_service.py on the ECS path: the error-rate alarm of the canary's
    target group fires from the load balancer's metrics of real requests, ECS rolls back, and the play fails naming
    the alarm, why it fired (from CloudWatch: ECS only names it) and where production is.

    A version failing 30 % of real requests (each task's first few well, so every hook passes) deployed through a
    canary under load; ECS rolls it back on the error-rate alarm (deploymentConfiguration.alarms, rollback on) while
    it is still a canary. Its canary plan stays the service's strategy until the next provision or deploy: the
    scenario provisions the inventory's plan again after it."""
    try:
        run = bad_canary(ecs, {"SANDBOX_FAULT_ERROR_PERCENT": "30"})
        latest = max(ecs_deployments(ecs), key=lambda d: d["createdAt"])
        after = served(ecs, 20)
    finally:
        ecs.playbook("playbooks/provision.yml")
    alarm = f"orders-{ECS_ENV}-error-rate-{run.color}"
    output = words(run.result.stdout)
    assert run.result.returncode != 0, output[-3000:]
    assert latest["status"] == "ROLLBACK_SUCCESSFUL"
    assert alarm in latest["alarms"]["triggeredAlarmNames"]
    assert f"alarm(s) {alarm} in ALARM" in output, output[-3000:]
    assert f"CloudWatch says: {alarm}: Threshold Crossed:" in output
    assert "Production is served by the previous revision" in output
    # Caught while a canary: the rule's weights never went past 10 %, and all went back.
    shares = [weights.get(run.canary_group, 0) for _, weights in run.changes]
    assert max(shares) == 10, run.changes
    assert shares[-1] == 0
    assert alarm in run.alarms
    assert set(after) == set(run.old)
    failed = LoadGenerator.failed(run.samples)
    assert failed, "no request met the fault: the alarm cannot have fired from real traffic"
    assert {s.status for s in failed} == {500}
    assert_blast_radius_as_predicted(blast_radius(run, fault_share=0.3))


@pytest.fixture(scope="class")
def manual_promote_pause(ecs: Sandbox) -> Iterator[None]:
    """The service provisioned with a PAUSE hook, for the scenarios of a class: a deploy waits there until
    promote.yml. After them, no deployment left waiting (a scenario that failed half way) and the inventory's own plan
    (no PAUSE) again.

    60 minutes: 3 s each at the sandbox's time scale, so the PAUSE outlives a deploy playbook run beside it on a busy
    machine (with 10, the replace_active scenario's PAUSE timed out first and rolled back by itself)."""
    ecs.playbook("playbooks/provision.yml", "-e", "codedeploy_manual_promote_minutes=60")
    try:
        yield
    finally:
        if active(ecs) is not None:
            ecs.playbook("playbooks/rollback.yml", check=False)
        ecs.playbook("playbooks/provision.yml")


@pytest.mark.usefixtures("manual_promote_pause")
class TestManualPromote:
    """The service provisioned once with a PAUSE hook for both scenarios (the class-scoped fixture)."""

    def test_manual_promote_waits_at_the_pause_hook_until_promote(self, ecs):
        """The service provisioned with a PAUSE hook; the deploy waits until promote.yml."""
        deploy = ecs.start_playbook("deploy.yml", "-e", f"image_tag={ecs.next_version()}")
        waiting = ecs.wait_for("the PAUSE hook", lambda: paused(ecs), timeout=180)
        paused_served = served(ecs)
        promote = ecs.playbook("playbooks/promote.yml").stdout
        output, _ = deploy.communicate(timeout=300)
        assert waiting
        assert len(paused_served) == 1  # production unchanged while paused
        assert "waiting for promote.yml" in words(output)
        assert "Promoted" in words(promote)
        assert deploy.returncode == 0, output[-3000:]
        assert served(ecs) != paused_served

    def test_another_revisions_deploy_is_refused_then_replaces_the_active_one_with_replace_active(self, ecs):
        """While a deployment waits at its PAUSE hook, a deploy of another revision changes nothing and says how to go
        on; with replace_active the deploy access stops the waiting one with rollback and deploys its own."""
        first = ecs.start_playbook("deploy.yml", "-e", f"image_tag={ecs.next_version()}")
        first_arn = ecs.wait_for("the PAUSE hook", lambda: paused(ecs), timeout=180)
        replacing = ecs.next_version()
        refused = ecs.playbook("deploy.yml", "-e", f"image_tag={replacing}", check=False)
        still = paused(ecs)
        second = ecs.start_playbook("deploy.yml", "-e", f"image_tag={replacing}", "-e", "replace_active=true")
        ecs.wait_for("the replacing one's PAUSE hook", lambda: paused(ecs) not in (None, first_arn), timeout=240)
        ecs.playbook("playbooks/promote.yml")
        first_output, _ = first.communicate(timeout=300)
        second_output, _ = second.communicate(timeout=300)
        first_status = next(d["status"] for d in ecs_deployments(ecs) if d["serviceDeploymentArn"] == first_arn)
        assert refused.returncode != 0
        assert "of another revision is IN_PROGRESS" in words(refused.stdout), words(refused.stdout)[-2000:]
        assert "set replace_active" in words(refused.stdout)
        assert still == first_arn, "the refused deploy changed the deployment in progress"
        assert first.returncode != 0, "the replaced deployment's own deploy must fail"
        assert "ended ROLLBACK_SUCCESSFUL" in words(first_output), words(first_output)[-2000:]
        assert first_status == "ROLLBACK_SUCCESSFUL"
        assert second.returncode == 0, words(second_output)[-3000:]
        assert served(ecs, 20) == {replacing: 20}


def test_rollback_during_a_deployment_stops_it_and_the_deploy_fails_saying_where_production_is(ecs):
    """rollback.yml stops a deployment under way with ROLLBACK; the deploy fails, naming why."""
    before = next(iter(served(ecs)))
    deploy = deploy_until_shifting(ecs, ecs.next_version())
    rollback_during = ecs.playbook("playbooks/rollback.yml").stdout
    output, _ = deploy.communicate(timeout=300)
    assert deploy.returncode != 0
    assert "ROLLBACK_SUCCESSFUL" in words(output), words(output)[-3000:]
    assert served(ecs, 20) == {before: 20}
    assert "stopped" in rollback_during


def test_a_deploy_killed_mid_deployment_is_followed_when_run_again(ecs):
    """The operator's deploy killed mid-deployment (a laptop closed, an AWX node lost): ECS goes on; the same deploy
    run again follows the same deployment instead of starting another."""
    version = ecs.next_version()
    deploy = deploy_until_shifting(ecs, version)
    deploy.kill()
    deploy.communicate(timeout=30)
    count = len(ecs_deployments(ecs))
    again = ecs.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)
    assert again.returncode == 0, again.stdout[-3000:]
    assert len(ecs_deployments(ecs)) - count == 0, "the second run started another deployment"
    assert "this run follows it" in words(again.stdout)
    assert served(ecs, 20) == {version: 20}


def test_provision_and_the_drift_check_after_deployments_change_nothing(ecs):
    """After all that (the module's last scenario; alone, after the module's provision): provision changes nothing,
    and the drift check finds nothing."""
    provision_again = ecs.playbook("playbooks/provision.yml").stdout
    drift = ecs.playbook("playbooks/drift_check.yml", check=False)
    status = ecs.playbook("playbooks/status.yml").stdout
    assert "changed=0" in provision_again, provision_again[-3000:]
    assert drift.returncode == 0, drift.stdout[-3000:]
    assert "changed=0" in drift.stdout
    assert f"orders-{ECS_ENV}" in status
    assert "Production answers version" in status

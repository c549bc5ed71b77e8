"""The environment's other service (inventories/local/services/worker.yml, `orders-local-worker`): its own stack in
the local environment's cluster, where these scenarios deploy beside the application service's (test_bluegreen.py and
the others of the `local` group), as two teams' services share an account.

Zero downtime under load through a deploy and a rollback; manual promote; test traffic that waits for health checks
that start with the test listener; and alarms that fire from real traffic: a version that passes every hook and then
fails, or slows down, under real requests is caught by the alarms during its canary, from the metrics the load
balancer published, and rolled back; the play fails naming the alarm, why it fired and what the canary cost, and the
users' bad requests are what the canary's share, the fault's share and the time to detect predict. And deploy.yml run
the way AWX runs a job: ansible-runner with a private data dir (inventory, extravars, env), the project as AWX checks
it out, asserted on the job events and the artifacts AWX reads (status, rc, the set_stats a workflow passes on).

The bad versions are the service behind a fault switch (sandbox/drivers/faulty_service.py,
sandbox/drivers/canary.py): the probes never meet the fault and each new task serves its first API requests well (the
smoke request among them), so every hook passes. The canary is CodeDeployDefault.ECSCanary10Percent5Minutes (15 s at
the sandbox's time scale).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import ansible_runner
import pytest

from sandbox.drivers.canary import CanaryRun, alarm_transitions, bad_canary, blast_radius
from sandbox.drivers.harness import BIN, PROD_PORT, REPO, TEST_PORT, Sandbox
from sandbox.drivers.observe import LoadGenerator
from tests.e2e.expect import assert_blast_radius_as_predicted, assert_rolled_back, serving
from tests.e2e.steps import a_version_to_roll_back_to

pytestmark = pytest.mark.xdist_group("worker")

# The slow version's added latency: well above the alarm's 1 s, and above the old version's p99 even on a busy
# two-core machine (where that p99 reaches a few hundred milliseconds while the unit tests run beside).
SLOW = 3.0


@pytest.fixture(scope="module")
def worker(sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The worker service, provisioned, for this module alone: the local environment's scenarios that deploy it
    too (test_services.py, test_teardown.py) wait for the "worker" lock; its playbooks run at a lower CPU priority
    than the application service's scenarios (the run's longest sequence)."""
    with sandbox.lock("shared", shared=True), sandbox.lock("worker"):
        yield request.getfixturevalue("worker_service").deprioritized()


def test_zero_downtime_during_a_deploy_and_a_rollback(worker):
    """Under steady load, through a deploy and a rollback: no failed request, and no alarm raised (the alarms
    evaluate the load balancer's metrics of this very traffic: the alarm scenarios below show them firing)."""
    a_version_to_roll_back_to(worker)
    previous = serving(worker)
    version = worker.next_version()
    started = time.time()
    load = LoadGenerator(worker.balancer["DNSName"], PROD_PORT, rate=40).start()
    try:
        worker.playbook("deploy.yml", "-e", f"image_tag={version}")
        during_deploy = len(load.samples)
        worker.playbook("playbooks/rollback.yml")
        time.sleep(1)
    finally:
        samples = load.stop()
    assert len(samples) > during_deploy > 200
    assert LoadGenerator.failed(samples) == []
    served = LoadGenerator.by_version(samples)
    assert served[version] > 0
    assert served[previous] > 0
    assert serving(worker) == previous
    cloudwatch = worker.client("cloudwatch")
    raised = [
        (alarm, item["HistorySummary"])
        for alarm in worker.names()["alarms"]
        for item in cloudwatch.describe_alarm_history(
            AlarmName=alarm, HistoryItemType="StateUpdate", StartDate=started
        )["AlarmHistoryItems"]
        if item["HistorySummary"].endswith("to ALARM")
    ]
    assert raised == [], f"a healthy deployment raised alarms: {raised}"
    # The alarms did evaluate this traffic: every request of the load is in the load balancer's RequestCount
    # (a period's datapoints are published when it ends: wait for the last one).
    balancer = worker.balancer["LoadBalancerArn"].split(":loadbalancer/")[1]

    def requests_counted() -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName="RequestCount",
            Dimensions=[{"Name": "LoadBalancer", "Value": balancer}],
            StartTime=started - 60,
            EndTime=time.time() + 60,
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    worker.wait_for("the load's requests in CloudWatch", lambda: requests_counted() >= len(samples), timeout=15)


def test_manual_promote_waits_at_ready_until_promote(worker):
    old = serving(worker)
    # Only the concerns the deployment group reads (provision.yml's tags): the rest is unchanged.
    group_only = ("--tags", "network,iam,load_balancer,codedeploy")
    worker.playbook("playbooks/provision.yml", *group_only, "-e", "codedeploy_manual_promote_minutes=60")
    try:
        version = worker.next_version()
        deploy = worker.start_playbook("deploy.yml", "-e", f"image_tag={version}")
        ready = worker.wait_for(
            "the deployment to wait at Ready",
            lambda: (d := worker.active_deployment()) and d["status"] == "Ready" and d,
        )
        assert worker.versions_served(10) == {old: 10}, "production moved before the promote"
        assert worker.versions_served(5, port=TEST_PORT) == {version: 5}, "the test listener does not reach green"
        time.sleep(2)
        assert deploy.poll() is None, "the deploy playbook did not wait through Ready"
        promote = worker.playbook("playbooks/promote.yml")
        assert f"Promoted {ready['deploymentId']}" in promote.stdout
        output, _ = deploy.communicate(timeout=300)
        assert deploy.returncode == 0, output[-3000:]
        assert serving(worker) == version
    finally:
        worker.playbook("playbooks/provision.yml", *group_only)


def test_test_traffic_waits_for_health_checks_that_start_with_the_test_listener(worker):
    """An ALB health-checks the replacement's targets only once the test listener forwards to them, and routes
    to them only when healthy: with interval 30 s x healthy threshold 5, AfterAllowTestTraffic must wait longer
    than the local inventory's 20 s retry budget. The hook's budget follows the target groups' settings."""
    elbv2 = worker.client("elbv2")
    groups = elbv2.describe_target_groups(Names=worker.names()["target_groups"])["TargetGroups"]
    slow = {"HealthCheckIntervalSeconds": 30, "HealthyThresholdCount": 5, "HealthCheckTimeoutSeconds": 5}
    for group in groups:
        elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], **slow)
    try:
        version = worker.next_version()
        worker.playbook("deploy.yml", "-e", f"image_tag={version}")
        assert serving(worker) == version
        deployment = worker.latest()
        events = {e["lifecycleEventName"]: e for e in worker.target(deployment["deploymentId"])["lifecycleEvents"]}
        test_traffic = events["AfterAllowTestTraffic"]
        waited = (test_traffic["endTime"] - test_traffic["startTime"]).total_seconds()
        # 5 checks x 30 s on the worker's health-check scale (0.2): about 30 s, past the 20 s of the inventory.
        assert waited > 20, f"AfterAllowTestTraffic took {waited:.1f}s: green answered before its checks passed"
    finally:
        for group in groups:
            elbv2.modify_target_group(
                TargetGroupArn=group["TargetGroupArn"],
                HealthCheckIntervalSeconds=group["HealthCheckIntervalSeconds"],
                HealthyThresholdCount=group["HealthyThresholdCount"],
                HealthCheckTimeoutSeconds=group["HealthCheckTimeoutSeconds"],
            )


def assert_stopped_by(worker, run: CanaryRun, alarm: str) -> dict:
    """The deployment was stopped by this alarm during the canary and rolled back; returns the alarm's state
    when it went to ALARM."""
    output = run.result.stdout
    assert run.result.returncode != 0, output[-3000:]
    stopped = worker.latest()
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert f"Activated alarms: <{alarm}>" in stopped["errorInformation"]["message"]
    # The play's failure names the alarm, why it fired, and what its target group served.
    assert f"stopped by the alarm(s) {alarm}" in output
    assert f"CloudWatch says: {alarm}: Threshold Crossed:" in " ".join(output.split())
    assert "production traffic is back on the original task set" in output
    (old,) = run.old
    assert_rolled_back(worker, stopped, old)
    # The canary never went past its 10 %: caught while still a canary, then all back on the original.
    shares = [weights.get(run.canary_group, 0) for _, weights in run.changes]
    assert max(shares) == 10, run.changes
    assert shares[-1] == 0
    assert alarm in run.alarms, f"{alarm} never went to ALARM ({run.alarms})"
    return alarm_transitions(worker, alarm, run.started)[-1]["newState"]


def test_a_version_failing_real_requests_is_rolled_back_by_the_error_rate_alarm_during_its_canary(worker):
    run = bad_canary(worker, {"SANDBOX_FAULT_ERROR_PERCENT": "30"})
    name = worker.names()["name"]
    alarm = f"{name}-error-rate-{run.color}"
    state = assert_stopped_by(worker, run, alarm)
    assert state["stateReasonData"]["statistic"] == "Expression"
    assert max(state["stateReasonData"]["recentDatapoints"]) > 5
    output = " ".join(run.result.stdout.split())
    assert f"Target group {name}-{run.color} since" in output
    assert "answered 5XX or refused" in output
    failed = LoadGenerator.failed(run.samples)
    # Only the canary's share failed: each a 500 from the new version (none refused, none timed out).
    assert failed, "no request met the fault: the alarm cannot have fired from real traffic"
    assert {s.status for s in failed} == {500}
    assert_blast_radius_as_predicted(blast_radius(run, fault_share=0.3))


def test_a_slow_version_is_rolled_back_by_the_latency_alarm_during_its_canary(worker):
    # Enough clients that the slow answers do not hold back the load (40/s x 10 % x 3 s = 12 at once).
    run = bad_canary(worker, {"SANDBOX_FAULT_LATENCY_SECONDS": str(SLOW)}, rate=40.0, workers=16)
    alarm = f"{worker.names()['name']}-latency-p99-{run.color}"
    state = assert_stopped_by(worker, run, alarm)
    assert state["stateReasonData"]["statistic"] == "p99"
    assert max(state["stateReasonData"]["recentDatapoints"]) >= SLOW
    slow = [s for s in run.samples if s.seconds >= SLOW]
    assert slow, "no request met the slow version"
    # Every other request of the load (the old version's, and the canary's few before its fault showed): their
    # p99 stays under the alarm's threshold, so the slow version set it off, not the machine (on two cores with
    # the unit tests beside, that p99 has reached 450 ms).
    others = [s for s in run.samples if s.seconds < SLOW]
    assert LoadGenerator.percentile(others, 0.99) < state["stateReasonData"]["threshold"] < SLOW
    assert LoadGenerator.failed(run.samples) == []  # slow, never failed
    assert_blast_radius_as_predicted(blast_radius(run, fault_share=1.0, slow_seconds=SLOW))


# --- deploy.yml as AWX runs a job -------------------------------------------------------------------------


def run_job(box, tmp_path, extravars: dict):
    """deploy.yml run the way AWX runs a job: ansible-runner with a private data dir (inventory, extravars, env), the
    project as AWX checks it out."""
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    # What AWX writes for a job: extravars (the survey's answers) and envvars (the credential's and the
    # job's environment) as files in the private data dir; the inventory from the project's source.
    (private / "env" / "extravars").write_text(json.dumps(extravars))
    envvars = {k: v for k, v in box.env.items() if k.startswith("SANDBOX_")}
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO),
        playbook="deploy.yml",
        inventory=str(REPO / "inventories" / "local" / "hosts.yml"),
        quiet=True,
        timeout=900,
    )


@pytest.fixture
def runner_path(monkeypatch):
    # An execution environment has ansible-playbook on its PATH; here it is the venv's.
    monkeypatch.setenv("PATH", f"{BIN}:{os.environ.get('PATH', '')}")


def custom_stats(result) -> dict:
    stats = [e for e in result.events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"].get("artifact_data", {})


def test_a_deploy_job_as_awx_runs_it(worker, tmp_path, runner_path):
    version = worker.next_version()
    result = run_job(worker, tmp_path, {"image_tag": version, "service": "worker"})

    assert result.status == "successful"
    assert result.rc == 0
    artifacts = tmp_path / "runner" / "artifacts" / result.config.ident
    assert (artifacts / "rc").read_text() == "0"
    assert (artifacts / "status").read_text() == "successful"
    deploy = [
        e
        for e in result.events
        if e["event"] == "runner_on_ok" and e["event_data"].get("task", "").startswith("Deploy, reporting")
    ]
    assert len(deploy) == 1
    assert deploy[0]["event_data"]["res"]["status"] == "Succeeded"
    stats = custom_stats(result)
    assert stats["deploy_status"] == "Succeeded"
    assert stats["deploy_image_tag"] == version
    assert stats["deploy_deployment_id"].startswith("d-")
    assert result.stats["failures"] == {}
    assert worker.versions_served(10) == {version: 10}


def test_a_failed_deploy_job_fails_with_its_reason_in_the_artifacts(worker, tmp_path, runner_path):
    before = worker.versions_served(5)
    result = run_job(worker, tmp_path, {"image_tag": "not a tag!", "service": "worker"})

    assert result.status == "failed"
    assert result.rc == 2
    failed = [e for e in result.events if e["event"] == "runner_on_failed"]
    assert "is not a valid image tag" in failed[0]["event_data"]["res"]["msg"]
    assert worker.versions_served(5) == before

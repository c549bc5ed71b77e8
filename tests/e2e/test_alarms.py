"""Alarms that fire from real traffic: a version that passes every hook and then fails, or slows down, under real
requests is caught by the alarms during its canary, from the metrics the load balancer published, and rolled
back; the play fails naming the alarm, why it fired and what the canary cost. A healthy deployment under the same
load raises none (tests/e2e/test_bluegreen.py::test_zero_downtime_during_a_deploy_and_a_rollback).

Traffic is steady load on an API route (/items): the probes (/health, /ready) never meet the fault
(sandbox/faulty_service.py), so every hook passes. The canary is CodeDeployDefault.ECSCanary10Percent5Minutes
(15 s at the sandbox's time scale).
"""

from __future__ import annotations

import json
import time

from sandbox.harness import APP, PROD_PORT
from sandbox.observe import ListenerWatcher, LoadGenerator
from tests.e2e.test_bluegreen import assert_rolled_back, image_like_orders, serving

CANARY = "CodeDeployDefault.ECSCanary10Percent5Minutes"


def bad_canary(sandbox, environment: dict, rate: float = 60.0) -> dict:
    """Deploy a version with a fault under steady load through a canary: what the user saw and what happened."""
    old = serving(sandbox)
    version = sandbox.next_version()
    sandbox.add_image(
        f"orders:{version}",
        image_like_orders(sandbox, command=["{python}", "-m", "sandbox.faulty_service"], environment=environment),
    )
    watcher = ListenerWatcher(sandbox.client("elbv2"), sandbox.listener_arn(PROD_PORT), interval=0.05).start()
    load = LoadGenerator(sandbox.balancer["DNSName"], PROD_PORT, path="/items?limit=1", rate=rate, workers=8).start()
    started = time.time()
    try:
        result = sandbox.playbook(
            "deploy.yml", "-e", f"image_tag={version}", "-e", f"deployment_config={CANARY}", check=False
        )
        time.sleep(1)
    finally:
        samples = load.stop()
        changes = watcher.stop()
    original = next(name for name, weight in changes[0][1].items() if weight == 100)
    canary = next(name for _, weights in changes for name in weights if name != original)
    return {
        "old": old,
        "result": result,
        "samples": samples,
        "changes": changes,
        "canary_group": canary,
        "color": canary.rsplit("-", 1)[1],
        "started": started,
    }


def went_to_alarm(sandbox, alarm: str, since: float) -> list[dict]:
    history = sandbox.client("cloudwatch").describe_alarm_history(
        AlarmName=alarm, HistoryItemType="StateUpdate", StartDate=since
    )["AlarmHistoryItems"]
    return [
        json.loads(i["HistoryData"])
        for i in history
        if json.loads(i["HistoryData"])["newState"]["stateValue"] == "ALARM"
    ]


def assert_stopped_by(sandbox, run: dict, alarm: str) -> dict:
    output = run["result"].stdout
    assert run["result"].returncode != 0, output[-3000:]
    stopped = sandbox.latest()
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert f"Activated alarms: <{alarm}>" in stopped["errorInformation"]["message"]
    # The play's failure names the alarm, why it fired, and what its target group served.
    assert f"stopped by the alarm(s) {alarm}" in output
    assert f"CloudWatch says: {alarm}: Threshold Crossed:" in " ".join(output.split())
    assert "production traffic is back on the original task set" in output
    assert_rolled_back(sandbox, stopped, run["old"])
    # The canary never went past its 10 %: caught while still a canary, then all back to the original.
    shares = [weights.get(run["canary_group"], 0) for _, weights in run["changes"]]
    assert max(shares) == 10, shares
    assert shares[-1] == 0
    fired = went_to_alarm(sandbox, alarm, run["started"])
    assert fired, f"{alarm} never went to ALARM"
    return fired[-1]["newState"]


def test_a_version_failing_real_requests_is_rolled_back_by_the_error_rate_alarm_during_its_canary(sandbox):
    run = bad_canary(sandbox, {"SANDBOX_FAULT_ERROR_PERCENT": "30"})
    alarm = f"{APP}-error-rate-{run['color']}"
    state = assert_stopped_by(sandbox, run, alarm)
    assert state["stateReasonData"]["statistic"] == "Expression"
    assert max(state["stateReasonData"]["recentDatapoints"]) > 5
    output = " ".join(run["result"].stdout.split())
    assert f"Target group {APP}-{run['color']} since" in output
    assert "answered 5XX or refused" in output
    failed = LoadGenerator.failed(run["samples"])
    # Only the canary's share failed: each a 500 from the new version (none refused, none timed out).
    assert failed, "no request met the fault: the alarm cannot have fired from real traffic"
    assert {s.status for s in failed} == {500}
    assert len(failed) < 0.2 * len(run["samples"])


def test_a_slow_version_is_rolled_back_by_the_latency_alarm_during_its_canary(sandbox):
    run = bad_canary(sandbox, {"SANDBOX_FAULT_LATENCY_SECONDS": "1.5"}, rate=40.0)
    alarm = f"{APP}-latency-p99-{run['color']}"
    state = assert_stopped_by(sandbox, run, alarm)
    assert state["stateReasonData"]["statistic"] == "p99"
    assert max(state["stateReasonData"]["recentDatapoints"]) >= 1.5
    before = [s for s in run["samples"] if s.at < run["started"] + 5]  # before the canary took traffic
    slow = [s for s in run["samples"] if s.seconds >= 1.5]
    assert slow, "no request met the slow version"
    assert LoadGenerator.percentile(before, 0.99) * 10 <= 1.5, "the old version's p99 was not ten times faster"
    assert LoadGenerator.failed(run["samples"]) == []  # slow, never failed

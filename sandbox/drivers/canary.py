"""A bad canary, observed as a user would: a version with a fault (sandbox/drivers/faulty_service.py) deployed through a
canary under steady load on an API route, the production listener's weights watched, and what the alarms did.
Shared by the end-to-end tests (tests/e2e/test_worker_service.py), the demo (`make demo SCENARIO=bad-canary`) and the
benchmark (bench/blast_radius.py)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field

from sandbox.drivers.harness import PROD_PORT, Sandbox
from sandbox.drivers.observe import BlastRadius, ListenerWatcher, LoadGenerator

CANARY = "canary-10-then-5"  # CodeDeployDefault.ECSCanary10Percent5Minutes; 15 s at the sandbox's time scale
# Each new task serves its first API requests well (the test-traffic hook's smoke request among them): a version
# that passes its checks and fails only under load. Without that, the smoke request's own slow or failed answer
# raises the alarm before production sees the version (alarms watch a target group, whichever listener).
SMOKE_PASSES = "3"
PATH = "/items?limit=1"  # an API route: the probes (/health, /ready) never meet the fault


def faulty_image(box: Sandbox, environment: dict) -> dict:
    """The service's image mapping, run through the fault switch with these SANDBOX_FAULT_* settings."""
    spec = json.loads(json.dumps(box.config["images"]["orders"]))
    spec["command"] = ["{python}", "-m", "sandbox.drivers.faulty_service"]
    spec["environment"].update({"SANDBOX_FAULT_AFTER_REQUESTS": SMOKE_PASSES, **environment})
    return spec


@dataclass
class CanaryRun:
    version: str
    old: dict  # versions production served before ({version: requests})
    result: subprocess.CompletedProcess[str]  # the deploy playbook's
    samples: list
    changes: list
    original_group: str
    canary_group: str
    started: float
    rate: float
    alarms: dict = field(default_factory=dict)  # alarm name -> when it went to ALARM (epoch seconds)

    @property
    def color(self) -> str:
        return self.canary_group.rsplit("-", 1)[1]


def alarm_transitions(box: Sandbox, alarm: str, since: float) -> list[dict]:
    """The alarm's transitions to ALARM since then, newest first: {"at": epoch seconds, "newState": {...}}."""
    history = box.client("cloudwatch").describe_alarm_history(
        AlarmName=alarm, HistoryItemType="StateUpdate", StartDate=since
    )["AlarmHistoryItems"]
    data = [{"at": i["Timestamp"].timestamp(), **json.loads(i["HistoryData"])} for i in history]
    return [d for d in data if d["newState"]["stateValue"] == "ALARM"]


def bad_canary(box: Sandbox, environment: dict, *, rate: float = 60.0, workers: int = 8) -> CanaryRun:
    """Deploy a faulty version through a canary under steady load; return what the users and the API saw."""
    old = box.versions_served(10)
    version = box.next_version()
    box.add_image(f"orders:{version}", faulty_image(box, environment))
    watcher = ListenerWatcher.production(box.client("elbv2"), box.listener_arn(PROD_PORT), interval=0.05).start()
    load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, path=PATH, rate=rate, workers=workers).start()
    started = time.time()
    try:
        result = box.playbook("deploy.yml", "-e", f"image_tag={version}", "-e", f"traffic={CANARY}", check=False)
        time.sleep(1)
    finally:
        samples = load.stop()
        changes = watcher.stop()
    original = next(name for name, weight in changes[0][1].items() if weight == 100)
    canary = next((name for _, weights in changes for name in weights if name != original), "")  # a rule has both
    run = CanaryRun(
        version=version,
        old=dict(old),
        result=result,
        samples=samples,
        changes=changes,
        original_group=original,
        canary_group=canary,
        started=started,
        rate=len(samples) / max(1.0, samples[-1].at - samples[0].at) if samples else 0.0,
    )
    for name in box.names()["alarms"]:
        fired = alarm_transitions(box, name, started)
        if fired:
            run.alarms[name] = fired[-1]["at"]
    # The traffic left the bad version: its alarm goes back to OK at its next evaluations (a deployment started
    # before would be stopped at once, and its preflight says so).
    cloudwatch = box.client("cloudwatch")
    box.wait_for(
        "the alarms to leave ALARM",
        lambda: all(
            a["StateValue"] != "ALARM"
            for a in cloudwatch.describe_alarms(AlarmNames=box.names()["alarms"])["MetricAlarms"]
        ),
        timeout=60,
    )
    return run


def blast_radius(run: CanaryRun, *, fault_share: float, slow_seconds: float | None = None) -> BlastRadius:
    first_alarm = min(run.alarms.values()) if run.alarms else None
    return BlastRadius(
        run.samples, run.changes, run.canary_group, fault_share, run.rate, first_alarm, slow_seconds=slow_seconds
    )

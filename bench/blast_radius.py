"""The blast radius of a bad canary, in a sandbox of the benchmark's own: what a version that passes every hook
and then fails (or slows down) under real traffic costs the users before its alarm rolls it back.

For each kind of bad version (30 % of API requests answered 500; every API request 3 s slower), `--runs`
canaries (CodeDeployDefault.ECSCanary10Percent5Minutes, 15 s at the sandbox's time scale) under steady load:

- bad requests the users saw, against the prediction rate x canary share x fault share x seconds the canary had
  production traffic;
- time from the first bad request to the alarm in ALARM, and to 100 % of production back on the original;
- and a healthy canary under the same load: alarms raised (a false positive would show here).

The delays are the sandbox's, stated as assumed in the fidelity ledger: a period's ALB datapoints are published
when it ends (60 s x 0.05 = 3 s), alarms evaluate every scaled minute right after; CodeDeploy polls alarms
every second. On AWS, metrics arrive about a minute after the requests and alarms evaluate each minute: with
the production defaults (2 of 3 one-minute periods) the time to detect is some 2-4 minutes, times the share.

Run with `make bench-blast-radius` (python bench/blast_radius.py [--runs N]). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.drivers.canary import CANARY, bad_canary, blast_radius
from sandbox.drivers.harness import APP, PROD_PORT, Sandbox
from sandbox.drivers.observe import ListenerWatcher, LoadGenerator

KINDS = {
    "errors": ({"SANDBOX_FAULT_ERROR_PERCENT": "30"}, 0.3, None),
    "slow": ({"SANDBOX_FAULT_LATENCY_SECONDS": "3"}, 1.0, 3.0),
}


def healthy_canary(box: Sandbox, rate: float) -> tuple[list[str], list]:
    """A good version through the same canary under the same load: which alarms went to ALARM, and the samples."""
    started = time.time()
    watcher = ListenerWatcher(box.client("elbv2"), box.listener_arn(PROD_PORT), interval=0.1).start()
    load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, path="/items?limit=1", rate=rate, workers=8).start()
    try:
        box.playbook("deploy.yml", "-e", f"image_tag={box.next_version()}", "-e", f"traffic={CANARY}")
    finally:
        samples = load.stop()
        watcher.stop()
    cloudwatch = box.client("cloudwatch")
    raised = [
        alarm
        for alarm in box.names()["alarms"]
        for item in cloudwatch.describe_alarm_history(
            AlarmName=alarm, HistoryItemType="StateUpdate", StartDate=started
        )["AlarmHistoryItems"]
        if item["HistorySummary"].endswith("to ALARM")
    ]
    return raised, samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="bad canaries of each kind")
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second through the load balancer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="blast-radius-") as home:
        box = Sandbox(Path(home), ports=(4966, 4967), network=31, iam_propagation_seconds=5)
        box.cli("up")
        try:
            box.grant_operator_access()
            box.playbook("playbooks/provision.yml")
            box.playbook("deploy.yml", "-e", f"image_tag={box.next_version()}", "-e", "skip_verify=true")
            print(f"Blast radius of a bad canary ({APP}: 2 tasks, {CANARY} = 15 s, {args.rate:g} requests/s)")
            print("  sandbox delays (assumed): datapoint at the end of its 3 s period, alarms evaluated right after,")
            print("  CodeDeploy polls the alarms every second; alarms: 1 of 1 periods (inventories/local)")
            for kind, (environment, share, slow) in KINDS.items():
                print()
                print(f"{kind}: {environment}")
                detect, restore, ratio = [], [], []
                for index in range(args.runs):
                    run = bad_canary(box, environment, rate=args.rate, workers=24)
                    radius = blast_radius(run, fault_share=share, slow_seconds=slow)
                    print(f"  run {index + 1}: stopped by {', '.join(run.alarms) or 'nothing'}")
                    for line in radius.lines():
                        print("  " + line)
                    bad = radius.bad_samples
                    if bad and radius.alarm_at is not None:
                        detect.append(radius.alarm_at - bad[0].at)
                    _began, ended = radius.exposure
                    if bad and ended is not None:
                        restore.append(ended - bad[0].at)
                    if radius.predicted:
                        ratio.append(len(bad) / radius.predicted)
                if detect and restore and ratio:
                    print(
                        f"  median over {args.runs}: detect {statistics.median(detect):.1f} s, back to 100 % "
                        f"{statistics.median(restore):.1f} s, bad / predicted {statistics.median(ratio):.2f}"
                    )
            raised, samples = healthy_canary(box, args.rate)
            print()
            print(
                f"healthy canary under the same load: alarms raised {raised or 'none'}; "
                f"{len(LoadGenerator.failed(samples))} of {len(samples)} requests failed, "
                f"p99 {LoadGenerator.percentile(samples, 0.99) * 1000:.1f} ms"
            )
        finally:
            box.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())

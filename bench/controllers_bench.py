"""The two deployment controllers side by side, in one sandbox of the benchmark's own: CodeDeploy
(inventories/local, `orders-local`) and ECS-native (inventories/local-ecs, `orders-ecs`), the same service, the same
inventory's traffic plan (linear, 20 % every sandbox minute), the same hooks.

Interleaved rounds (CodeDeploy, ECS, CodeDeploy, ECS, ...), each a whole deployment under a steady load through
that environment's load balancer, and for each:

- time to 100 %: from the deploy playbook's start to the production listener (CodeDeploy: its default action; ECS:
  its rule) forwarding everything to the new version's target group, read from the ELBv2 API every 0.1 s;
- the whole deploy playbook's time;
- AWS API calls during the deployment, by caller (the playbook, CodeDeploy's engine or ECS, the hook functions);
- p99 latency and failed requests of the load.

Reported as the median over the rounds of each controller, and the ECS/CodeDeploy ratios. Run with
`make bench-controllers` (python bench/controllers_bench.py [--rounds N]). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.drivers.harness import PROD_PORT, Sandbox
from sandbox.drivers.observe import ListenerWatcher, LoadGenerator

RATE = 30.0
CONTROLLERS = {"codedeploy": ("inventories/local", "local"), "ecs": ("inventories/local-ecs", "ecs")}


def one_deployment(box: Sandbox, version: str) -> dict:
    watcher = ListenerWatcher.production(box.client("elbv2"), box.listener_arn(PROD_PORT)).start()
    before = watcher.weights()
    serving = max(before, key=before.get)
    load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=RATE).start()
    box.api_calls(reset=True)
    started = time.time()
    try:
        box.playbook("deploy.yml", "-e", f"image_tag={version}")
        finished = time.time()
        time.sleep(1)
    finally:
        samples = load.stop()
        changes = watcher.stop()
    calls: Counter = Counter()
    for row in box.api_calls():
        calls[row["caller"]] += row["calls"]
    at_100 = next((at for at, weights in changes if weights.get(serving, 0) == 0 and at >= started), None)
    return {
        "to_100": (at_100 - started) if at_100 else None,
        "playbook": finished - started,
        "calls": calls,
        "p99_ms": LoadGenerator.percentile(samples, 0.99) * 1000,
        "failed": len(LoadGenerator.failed(samples)),
        "requests": len(samples),
    }


def measure(rounds: int) -> dict[str, list[dict]]:
    with tempfile.TemporaryDirectory(prefix="controllers-bench-") as home:
        box = Sandbox(Path(home), ports=(4966, 4967), network=61)
        box.cli("up")
        try:
            environments = {name: box.environment(*where) for name, where in CONTROLLERS.items()}
            for environment in environments.values():
                environment.grant_operator_access()
                environment.playbook("playbooks/provision.yml")
            versions = (f"5.{n}.0" for n in range(1, 100))
            results: dict[str, list[dict]] = {name: [] for name in CONTROLLERS}
            for _ in range(rounds):
                for name, environment in environments.items():  # interleaved: CodeDeploy, ECS, CodeDeploy, ...
                    results[name].append(one_deployment(environment, next(versions)))
            return results
        finally:
            box.cli("down")


def median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, list[dict]]) -> None:
    print(
        f"\nBoth controllers, the same service and plan (linear 20 %/sandbox minute), {RATE:.0f} requests/s, medians:"
    )
    print(f"  {'':<11} {'to 100 %':>9} {'playbook':>9} {'p99':>8} {'failed':>7}  API calls during the deployment")
    medians = {}
    for name, rows in results.items():
        callers = sorted({caller for r in rows for caller in r["calls"]})
        calls = {c: statistics.median(r["calls"].get(c, 0) for r in rows) for c in callers}
        medians[name] = {k: median(rows, k) for k in ("to_100", "playbook", "p99_ms")}
        # "other": the benchmark's own readings (the weights every 0.1 s), not the deployment's: left out of the total.
        medians[name]["calls"] = sum(n for c, n in calls.items() if c != "other")
        print(
            f"  {name:<11} {medians[name]['to_100']:8.1f}s {medians[name]['playbook']:8.1f}s "
            f"{medians[name]['p99_ms']:6.1f}ms {sum(r['failed'] for r in rows):7d}  "
            + ", ".join(f"{c} {n:g}" for c, n in calls.items())
            + f" (total without other: {medians[name]['calls']:g})"
        )
    ecs, codedeploy = medians["ecs"], medians["codedeploy"]
    print(
        "  ECS / CodeDeploy: "
        + ", ".join(f"{k} {ecs[k] / codedeploy[k]:.2f}x" for k in ("to_100", "playbook", "p99_ms", "calls"))
    )
    print(f"  rounds: {len(results['ecs'])} of each, interleaved")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report(measure(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

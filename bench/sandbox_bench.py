"""Blue/green deployments in a sandbox of the benchmark's own, measured side by side in one run.

1. From a deployment reaching its terminal status (its completeTime) to the deploy playbook printing it,
   against the AWS CLI's `aws deploy wait deployment-successful` started at the same moment.
2. How long rollback.yml takes to put 100% of production traffic back on the original target group, during a
   deployment (stop with rollback) and after one (a new deployment of the previous revision).
3. Failed requests and latency at a steady rate through the load balancer during a deployment, against the
   same rate for the same time with no deployment.
4. AWS API calls made by one deploy and by a provision run that changes nothing (the playbook's own calls,
   counted by the sandbox's endpoints; the CodeDeploy engine's and the hooks' calls shown apart).

Run with `make bench-sandbox` (or python bench/sandbox_bench.py [--rounds N]). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.harness import APP, BIN, PROD_PORT, Sandbox
from sandbox.observe import ListenerWatcher, LoadGenerator

RATE = 40.0


def timed_lines(process: subprocess.Popen, lines: list[tuple[float, str]]) -> threading.Thread:
    def read():
        for line in process.stdout:
            lines.append((time.time(), line.rstrip("\n")))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def deploy_and_race_the_cli(box: Sandbox, version: str) -> dict:
    """One deployment: the playbook and the AWS CLI waiter watch it; when does each report the end?"""
    lines: list[tuple[float, str]] = []
    deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
    reader = timed_lines(deploy, lines)
    active = box.wait_for("the deployment to start", box.active_deployment, timeout=120)
    cli_started = time.time()
    cli = subprocess.run(
        [str(BIN / "aws"), "deploy", "wait", "deployment-successful", "--deployment-id", active["deploymentId"]],
        env=box.client_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    cli_done = time.time()
    deploy.wait()
    reader.join(10)
    info = box.client("codedeploy").get_deployment(deploymentId=active["deploymentId"])["deploymentInfo"]
    completed = info["completeTime"].timestamp()
    reported = next(at for at, line in lines if "deployment Succeeded" in line)
    return {
        "status": info["status"],
        "playbook_rc": deploy.returncode,
        "cli_rc": cli.returncode,
        "playbook_lag": reported - completed,
        "cli_lag": cli_done - completed,
        "cli_started_lag": cli_started - info["createTime"].timestamp(),
    }


def rollback_to_original(box: Sandbox, during: bool, version: str) -> dict:
    elbv2 = box.client("elbv2")
    listener = box.listener_arn(PROD_PORT)
    original = next(name for name, weight in ListenerWatcher(elbv2, listener).weights().items() if weight == 100)
    deploy = None
    if during:
        deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
        box.wait_for(
            "the shift",
            lambda: len([w for w in ListenerWatcher(elbv2, listener).weights().values() if 0 < w < 100]) == 2,
            timeout=120,
        )
    else:
        box.playbook("deploy.yml", "-e", f"image_tag={version}")  # rollback.yml puts the version before back
    watcher = ListenerWatcher(elbv2, listener, interval=0.05).start()
    started = time.time()
    box.playbook("playbooks/rollback.yml")
    finished = time.time()
    changes = watcher.stop()
    if deploy is not None:
        deploy.communicate()
    back = next((at for at, weights in changes if weights.get(original) == 100), None)
    return {"to_100": (back - started) if back else None, "playbook": finished - started}


def api_calls(box: Sandbox) -> Counter:
    counted: Counter = Counter()
    for row in box.api_calls():
        counted[row["caller"]] += row["calls"]
    return counted


def by_operation(box: Sandbox, caller: str) -> str:
    rows = sorted((r for r in box.api_calls() if r["caller"] == caller), key=lambda r: -r["calls"])
    return ", ".join(f"{r['service']}:{r['operation']} {r['calls']}" for r in rows[:8])


def measure(rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as home:
        box = Sandbox(Path(home), ports=(4866, 4867), network=21)
        box.cli("up")
        try:
            box.playbook("playbooks/provision.yml")
            box.playbook("deploy.yml", "-e", "image_tag=3.0.0")  # warm: production on a deployed version
            versions = (f"3.{n}.0" for n in range(1, 100))

            # 3 and 4a: one deploy under steady load, its API calls counted.
            box.api_calls(reset=True)
            load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=RATE).start()
            started = time.monotonic()
            first = deploy_and_race_the_cli(box, next(versions))
            deploy_seconds = time.monotonic() - started
            during = load.stop()
            deploy_calls = api_calls(box)
            deploy_ops = by_operation(box, "ansible")
            baseline = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=RATE).start()
            time.sleep(deploy_seconds)
            quiet = baseline.stop()

            # 1: more deployments raced against the CLI waiter.
            races = [first] + [deploy_and_race_the_cli(box, next(versions)) for _ in range(rounds - 1)]

            # 4b: a provision run that changes nothing.
            box.api_calls(reset=True)
            provision = box.playbook("playbooks/provision.yml")
            provision_calls = api_calls(box)
            provision_ops = by_operation(box, "ansible")
            recap = provision.stdout[provision.stdout.rindex("PLAY RECAP") :].split("\n")[1]

            # 2: rollback.yml, during and after a deployment.
            during_rollback = rollback_to_original(box, during=True, version=next(versions))
            after_rollback = rollback_to_original(box, during=False, version=next(versions))
        finally:
            box.cli("down")
    return {
        "races": races,
        "during": during,
        "quiet": quiet,
        "deploy_seconds": deploy_seconds,
        "deploy_calls": deploy_calls,
        "deploy_ops": deploy_ops,
        "provision_calls": provision_calls,
        "provision_ops": provision_ops,
        "recap": recap,
        "during_rollback": during_rollback,
        "after_rollback": after_rollback,
    }


def report(figures: dict) -> None:
    races, during, quiet = figures["races"], figures["during"], figures["quiet"]
    during_rollback, after_rollback = figures["during_rollback"], figures["after_rollback"]
    deploy_calls, provision_calls = figures["deploy_calls"], figures["provision_calls"]

    def mean(key):
        return statistics.mean(r[key] for r in races)

    print(f"Sandbox benchmark ({APP}: 2 tasks, linear 20% every minute at time scale 0.05; one run, side by side)")
    print()
    statuses = ", ".join(r["status"] for r in races)
    print(f"1. deployment terminal -> reported, over {len(races)} deployments ({statuses})")
    print(
        f"   deploy playbook (ours):               mean {mean('playbook_lag'):5.2f} s, "
        f"max {max(r['playbook_lag'] for r in races):5.2f} s"
    )
    print(
        f"   aws deploy wait deployment-successful: mean {mean('cli_lag'):5.2f} s, "
        f"max {max(r['cli_lag'] for r in races):5.2f} s   (polls every 15 s)"
    )
    print(f"   ratio CLI / ours: {mean('cli_lag') / max(mean('playbook_lag'), 0.01):.1f}x")
    print()
    print("2. rollback.yml until 100% of production traffic is on the original target group")
    print(
        f"   during a deployment (stop + rollback): {during_rollback['to_100']:5.2f} s "
        f"(playbook done in {during_rollback['playbook']:.1f} s)"
    )
    print(
        f"   after a deployment (redeploy previous): {after_rollback['to_100']:5.2f} s "
        f"(playbook done in {after_rollback['playbook']:.1f} s; a full blue/green deployment)"
    )
    print()
    seconds = figures["deploy_seconds"]
    print(f"3. steady load through the ALB, {RATE:.0f} requests/s, a new connection each, for {seconds:.0f} s")
    for name, samples in (("during a deployment", during), ("no deployment", quiet)):
        print(
            f"   {name:<20} {len(samples):5d} requests, {len(LoadGenerator.failed(samples))} failed, "
            f"p50 {LoadGenerator.percentile(samples, 0.5) * 1000:5.1f} ms, "
            f"p99 {LoadGenerator.percentile(samples, 0.99) * 1000:5.1f} ms"
        )
    print(
        f"   p99 ratio during / no deployment: "
        f"{LoadGenerator.percentile(during, 0.99) / max(LoadGenerator.percentile(quiet, 0.99), 1e-6):.2f}x"
    )
    print()
    print("4. AWS API calls")
    print(
        f"   one deploy: the playbook {deploy_calls['ansible']}, "
        f"the CodeDeploy engine {deploy_calls['codedeploy-engine']}, "
        f"the hooks {deploy_calls['hooks']}; other clients {deploy_calls['other']} "
        "(the AWS CLI waiter and this benchmark's own watchers)"
    )
    print(f"     playbook's most frequent: {figures['deploy_ops']}")
    changed = figures["recap"].split(":", 1)[-1].split()[1]
    print(f"   provision that changes nothing ({changed}): the playbook {provision_calls['ansible']}")
    print(f"     most frequent: {figures['provision_ops']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="deployments raced against the AWS CLI waiter")
    args = parser.parse_args()
    report(measure(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

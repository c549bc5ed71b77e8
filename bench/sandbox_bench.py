"""Blue/green deployments in a sandbox of the benchmark's own, measured side by side in one run.

1. From a deployment reaching its terminal status (its completeTime) to the deploy playbook printing it,
   against the AWS CLI's `aws deploy wait deployment-successful` started at the same moment.
2. How long rollback.yml takes to put 100% of production traffic back on the original target group, during a
   deployment (stop with rollback) and after one (a new deployment of the previous revision).
3. Failed requests and latency at a steady rate through the load balancer (its request log on) during whole
   deployments, against the same rate for the same time with no deployment, interleaved (deployment, quiet,
   deployment, quiet, ...), reported as the median over the pairs; first with every process free to run on
   any CPU, then with the control plane (ansible-playbook, moto, the CodeDeploy engine, the hook functions) on
   CPUs of its own and the data plane (the serving tasks, HAProxy, the clients) on the first, as on AWS where
   they never share a machine. A task starting, or a one-off task such as the migration, runs on the control
   plane's CPUs: on AWS its CPUs are its own. (A lower CPU priority, nice 10 or SCHED_IDLE, separated nothing:
   see the note in Sandbox.isolate_control_plane.) The slowest 1 % of each deployment's requests are counted
   by what the sandbox did then: a service task's or a one-off task's process starting, a HAProxy reload, or
   nothing logged.
4. AWS API calls made by one deploy and by a provision run that changes nothing (the playbook's own calls,
   counted by the sandbox's endpoints; the CodeDeploy engine's and the hooks' calls shown apart).
5. The preflight (playbooks/verify.yml) on the healthy environment: its checks' time and the whole playbook's.

Run with `make bench-sandbox` (or python bench/sandbox_bench.py [--rounds N]). Prints figures, asserts nothing;
each headline figure is printed beside the last run's (bench/results/sandbox_bench.json, which each run rewrites).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.drivers.harness import APP, BIN, PROD_PORT, Sandbox
from sandbox.drivers.observe import ListenerWatcher, LoadGenerator, Sample

RATE = 40.0
# The headline figures of the last run, printed beside this run's (and rewritten by it).
RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_bench.json"


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


def haproxy_log_lines(box: Sandbox) -> int:
    return sum(1 for line in (box.home / "logs" / "haproxy.log").open(errors="replace") if ' HTTP/1.1"' in line)


def shift_latency(box: Sandbox, versions, pairs: int) -> list[dict]:
    """`pairs` times: one whole deployment under steady load, then as long again under the same load with none."""
    rows = []
    for _ in range(pairs):
        logged = haproxy_log_lines(box)
        load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=RATE).start()
        started = time.monotonic()
        box.playbook("deploy.yml", "-e", f"image_tag={next(versions)}")
        seconds = time.monotonic() - started
        during = load.stop()
        quiet_load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=RATE).start()
        time.sleep(seconds)
        quiet = quiet_load.stop()
        rows.append({"seconds": seconds, "during": during, "quiet": quiet, "logged": haproxy_log_lines(box) - logged})
    events = data_plane_events(box)
    for row in rows:  # the slowest 1 % of each deployment's requests, each beside what the sandbox did then
        slowest_share = sorted(row["during"], key=lambda sample: -sample.seconds)[: max(1, len(row["during"]) // 100)]
        row["slowest_beside"] = Counter(beside(sample, events) for sample in slowest_share)
    return rows


LOGGED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ \S+ (.*)$")
TASK_STARTED = re.compile(r"^task (\S+) started: ")
TASK_RUNNING = re.compile(r"^task (\S+) RUNNING at \S+:(\S+)$")
# How long before a slow request a process start counts as its cause: a service task's imports take about a
# second of CPU here (the slowest requests of a shift fall within 1.3 s of a start). A reload counts only just
# before or during the request.
START_WINDOW, RELOAD_WINDOW = 1.5, 0.2


def data_plane_events(box: Sandbox) -> list[tuple[float, float, str]]:
    """(time, how long before a request it counts, kind) of what the sandbox's AWS logged that takes CPU beside the
    serving tasks: a task's process starting (a service task's, or a one-off task's such as the migration) first,
    then the HAProxy reloads."""
    starts, ports, reloads = {}, {}, []
    for line in (box.home / "logs" / "aws.log").open(errors="replace"):
        logged = LOGGED.match(line.rstrip("\n"))
        if not logged:
            continue
        at, message = datetime.strptime(logged.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp(), logged.group(2)
        if started := TASK_STARTED.match(message):
            starts[started.group(1)] = at
        elif running := TASK_RUNNING.match(message):
            ports[running.group(1)] = running.group(2)  # "None": a task without a port
        elif message.startswith("HAProxy configured"):
            reloads.append((at, RELOAD_WINDOW, "a HAProxy reload"))
    tasks = [
        (
            at,
            START_WINDOW,
            "a one-off task starting (the migration)" if ports.get(task) == "None" else "a service task starting",
        )
        for task, at in starts.items()
    ]
    return tasks + reloads


def beside(sample: Sample, events: list[tuple[float, float, str]]) -> str:
    """What the sandbox did while `sample` waited: the first event (a process start, else a reload) that counts
    for it, else nothing it logged."""
    start = sample.at - sample.seconds
    return next(
        (kind for at, before, kind in events if start - before <= at <= sample.at), "nothing the sandbox logged"
    )


def p99(samples: list[Sample]) -> float:
    return LoadGenerator.percentile(samples, 0.99)


def slowest(samples: list[Sample], count: int = 3) -> str:
    worst = sorted(samples, key=lambda sample: -sample.seconds)[:count]
    return ", ".join(f"{s.seconds * 1000:.0f} ms ({s.status or s.error})" for s in worst)


def measure(rounds: int, pairs: int, only_latency: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as home:
        box = Sandbox(Path(home), ports=(4866, 4867), network=21)
        box.cli("up")
        try:
            box.grant_operator_access()  # each playbook signs as the sandbox's user of its access
            box.playbook("playbooks/provision.yml")
            box.playbook("deploy.yml", "-e", "image_tag=3.0.0")  # warm: production on a deployed version
            versions = (f"3.{n}.0" for n in range(1, 100))

            # 3: latency during deployments against none: every process on every CPU, then the control plane on
            # CPUs of its own (from then on the playbooks of 1, 2 and 4 run there too, as they would on AWS).
            latency = {"every process on every CPU": shift_latency(box, versions, pairs)}
            data, control = box.isolate_control_plane()
            latency[f"data plane on CPU {sorted(data)}, control plane on CPU {sorted(control)}"] = shift_latency(
                box, versions, pairs
            )
            if only_latency:
                return {"latency": latency}

            # 5: the preflight on the healthy environment (the checks' own time, and the whole playbook's).
            preflight = [verify_seconds(box) for _ in range(3)]

            # 1 and 4a: deployments raced against the CLI waiter, the first one's API calls counted.
            box.api_calls(reset=True)
            races = [deploy_and_race_the_cli(box, next(versions))]
            deploy_calls = api_calls(box)
            deploy_ops = by_operation(box, "ansible")
            simulations = sum(
                r["calls"]
                for r in box.api_calls()
                if r["caller"] == "ansible" and r["operation"] == "SimulatePrincipalPolicy"
            )
            races += [deploy_and_race_the_cli(box, next(versions)) for _ in range(rounds - 1)]

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
        "latency": latency,
        "races": races,
        "deploy_calls": deploy_calls,
        "deploy_ops": deploy_ops,
        "simulations": simulations,
        "provision_calls": provision_calls,
        "provision_ops": provision_ops,
        "recap": recap,
        "during_rollback": during_rollback,
        "after_rollback": after_rollback,
        "preflight": preflight,
    }


def verify_seconds(box: Sandbox) -> tuple[float, float]:
    """(the checks' seconds as the module reports them, the playbook's wall-clock seconds) of one verify.yml."""
    started = time.monotonic()
    result = box.playbook("playbooks/verify.yml", "-e", "image_tag=3.0.0")
    wall = time.monotonic() - started
    checks = float(re.search(r"every check passed in ([0-9.]+) s", result.stdout).group(1))
    return checks, wall


def report_latency(latency: dict[str, list[dict]]) -> None:
    print(
        f"3. steady load through the ALB (request log on), {RATE:.0f} requests/s, a new connection each: whole "
        "deployments against as long with none, interleaved; medians over the pairs"
    )
    for mode, rows in latency.items():
        ratios = [p99(row["during"]) / max(p99(row["quiet"]), 1e-6) for row in rows]
        failed = sum(len(LoadGenerator.failed(row[window])) for row in rows for window in ("during", "quiet"))
        requests = sum(len(row[window]) for row in rows for window in ("during", "quiet"))
        print(f"   {mode}: {len(rows)} pairs, {requests} requests, {failed} failed")
        for window in ("during", "quiet"):
            name = "during a deployment" if window == "during" else "no deployment"
            p50 = statistics.median(LoadGenerator.percentile(r[window], 0.5) for r in rows)
            print(
                f"     {name:<20} p50 {p50 * 1000:5.1f} ms, "
                f"p99 {statistics.median(p99(r[window]) for r in rows) * 1000:5.1f} ms "
                f"(per pair: {', '.join(f'{p99(r[window]) * 1000:.1f}' for r in rows)})"
            )
        print(
            f"     p99 ratio during / none: median {statistics.median(ratios):.2f}x "
            f"(spread {min(ratios):.2f}-{max(ratios):.2f}); HAProxy logged {sum(r['logged'] for r in rows)} requests"
        )
        print(f"     slowest during: {slowest([s for r in rows for s in r['during']])}")
        beside_counts = sum((r["slowest_beside"] for r in rows), Counter())
        print(
            f"     the slowest 1 % during ({sum(beside_counts.values())} requests), beside: "
            + ", ".join(f"{kind} {count}" for kind, count in beside_counts.most_common())
        )


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank (of 10 values, the 10th; of 20, the 19th)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def headline(figures: dict) -> dict:
    lags = [r["playbook_lag"] for r in figures["races"]]
    return {
        "deployments raced": len(lags),
        "detection mean (s)": round(statistics.mean(lags), 2),
        "detection p95 (s)": round(p95(lags), 2),
        "detection max (s)": round(max(lags), 2),
        "rollback during a deployment, to 100 % (s)": round(figures["during_rollback"]["to_100"] or -1, 2),
        "rollback after a deployment, to 100 % (s)": round(figures["after_rollback"]["to_100"] or -1, 2),
        "API calls of one deploy (the playbook)": figures["deploy_calls"]["ansible"],
        "iam:SimulatePrincipalPolicy of one deploy": figures["simulations"],
        "API calls of a provision that changes nothing": figures["provision_calls"]["ansible"],
    }


def beside_the_last_run(now: dict) -> None:
    """Each headline figure, and the last run's (then this run's become the last)."""
    last = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    print(f"Headline figures, this run beside the last ({last.get('_run', 'none recorded')}):")
    for key, value in now.items():
        print(f"   {key:<48} {value!s:>8}   last {last.get(key, '-')!s:>8}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"_run": datetime.now().strftime("%Y-%m-%d %H:%M"), **now}, indent=1) + "\n")


def report(figures: dict) -> None:
    races = figures["races"]
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
        f"p95 {p95([r['playbook_lag'] for r in races]):5.2f} s, max {max(r['playbook_lag'] for r in races):5.2f} s"
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
    report_latency(figures["latency"])
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
    print()
    checks = statistics.median(c for c, _ in figures["preflight"])
    wall = statistics.median(w for _, w in figures["preflight"])
    print(
        f"5. preflight (playbooks/verify.yml) on the healthy environment, median of {len(figures['preflight'])}: "
        f"the checks {checks:.2f} s, the whole playbook {wall:.1f} s (Ansible's start included)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rounds", type=int, default=10, help="deployments raced against the AWS CLI waiter (a p95 needs 10)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="deployment / no deployment pairs per priority set-up")
    parser.add_argument("--latency-only", action="store_true", help="only 3: latency during deployments")
    args = parser.parse_args()
    if args.pairs < 3:
        parser.error("--pairs must be at least 3: a median of fewer pairs is one noisy moment")
    figures = measure(args.rounds, args.pairs, args.latency_only)
    if args.latency_only:
        report_latency(figures["latency"])
    else:
        report(figures)
        print()
        beside_the_last_run(headline(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

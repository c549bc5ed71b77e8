"""`make demo`: a whole blue/green deployment on this machine, told as it happened.

Starts a fresh sandbox, provisions the local environment with the real playbooks, deploys version A, then
deploys version B blue/green while steady traffic goes through the load balancer, and prints the story:
lifecycle events with timings, traffic steps, requests served by each version, failed requests, duration.

`make demo CONTROLLER=ecs`: the same with ECS's own blue/green (inventories/local-ecs, bluegreen_controller: ecs):
the traffic steps are ECS's LINEAR strategy moving the production listener rule's weights, the story lists the
service deployment's lifecycle stages.

`make demo SCENARIO=bad-canary`: version B passes every hook, then answers 500 to 30 % of real requests; it goes
out through a canary (10 % for 15 s here) under steady load, its error-rate alarm fires from the load balancer's
metrics, CodeDeploy stops and rolls back, and the story adds the alarm, the deploy's failure and the blast
radius (bad requests against the prediction, time to detect, time to 100 % back on version A).

Stops the sandbox at the end (also on failure). Playbook output: .sandbox/logs/demo-*.log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3

from module_utils.ecs.deployments import service_deployment_briefs
from module_utils.model.names import names
from sandbox import cli
from sandbox import config as sandbox_config
from sandbox.drivers.canary import CANARY, bad_canary, blast_radius
from sandbox.drivers.harness import Sandbox
from sandbox.drivers.observe import ListenerWatcher, LoadGenerator

# The demo deploys inventories/local's own service (the model names it as the playbooks do), or, with
# --controller ecs, inventories/local-ecs's (the same service deployed by ECS itself).
LOCAL = names("orders", "local")
INVENTORIES = {"codedeploy": ("inventories/local", "local"), "ecs": ("inventories/local-ecs", "ecs")}

BIN = Path(sys.executable).parent
STAGE_LINE = re.compile(r"^\s+\S+ (\d\d:\d\d:\d\d) (stage (\S+)|deployment (\S+))")


def playbook(cfg, name: str, *extra: str, log_name: str, inventory: str = "inventories/local") -> float:
    """Run a playbook as an operator would; its output goes to a log. Returns the seconds it took."""
    log = cfg.state / "logs" / f"demo-{log_name}.log"
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(
            [str(BIN / "ansible-playbook"), name, "-i", inventory, *extra],
            cwd=sandbox_config.REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}:{os.environ.get('PATH', '')}"},
            check=False,
        )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise SystemExit(
            f"{name} {' '.join(extra)} failed ({result.returncode}) after {seconds:.0f}s:\n{tail}\n(see {log})"
        )
    return seconds


def clients(cfg):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=cfg.region
    )
    return (
        session.client("elbv2", endpoint_url=cfg.aws_endpoint),
        session.client("codedeploy", endpoint_url=cfg.codedeploy_endpoint),
    )


def latest_deployment(codedeploy, name: str, creator: str = "user") -> dict:
    """The newest deployment made by `creator` (user; codeDeployRollback for the rollback of a failed one)."""
    ids = codedeploy.list_deployments(applicationName=name, deploymentGroupName=name)["deployments"]
    infos = codedeploy.batch_get_deployments(deploymentIds=ids[:25])["deploymentsInfo"]
    info = max((i for i in infos if i.get("creator") == creator), key=lambda i: i["createTime"])
    deployment_id = info["deploymentId"]
    targets = codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
    target = codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=targets)
    return {"info": info, "events": target["deploymentTargets"][0]["ecsTarget"]["lifecycleEvents"]}


def ecs_deployment(ecs, model: dict, log: Path) -> dict:
    """The service's newest deployment as the story tells it: its lifecycle stages with their times, read from the
    deploy's own progress lines (the module reports each stage as it starts), in the shape latest_deployment gives."""
    arn = service_deployment_briefs(
        ecs.list_service_deployments, cluster=model["cluster"], service=model["ecs_service"]
    )[0]["serviceDeploymentArn"]
    deployment = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
    day = deployment["createdAt"].astimezone(dt.UTC).date()
    marks = []
    for line in log.read_text().splitlines():
        found = STAGE_LINE.match(line)
        if found:
            at = dt.datetime.combine(day, dt.time.fromisoformat(found.group(1)), dt.UTC)
            marks.append((found.group(3) or f"({found.group(4)})", at))
    events = [
        {"lifecycleEventName": name, "startTime": at, "endTime": marks[i + 1][1], "status": "Succeeded"}
        for i, (name, at) in enumerate(marks[:-1])
        if not name.startswith("(")
    ]
    return {
        "info": {
            "deploymentId": arn.rsplit("/", 1)[-1],
            "status": "Succeeded" if deployment["status"] == "SUCCESSFUL" else deployment["status"],
            "deploymentConfigName": f"ECS {deployment.get('deploymentConfiguration', {}).get('strategy', 'LINEAR')}",
            "createTime": deployment["createdAt"],
            "completeTime": deployment.get("finishedAt"),
        },
        "events": events,
    }


def stamp(value) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def story(versions, deployment, changes, samples, *, started, durations, rate) -> str:
    version_a, version_b = versions
    info = deployment["info"]
    t0 = stamp(info["createTime"])
    # CodeDeploy's lifecycle events, or ECS's longer stage names (POST_PRODUCTION_TRAFFIC_SHIFT).
    width = max([22, *(len(e["lifecycleEventName"]) for e in deployment["events"])])
    lines = [
        "",
        f"Blue/green deployment of orders {version_b} (was {version_a}) in the sandbox: {info['deploymentId']} "
        f"{info['status']}, config {info['deploymentConfigName']}",
        "",
        f"  {'lifecycle event':<{width}} start     took  status",
    ]
    for event in deployment["events"]:
        start = event.get("startTime")
        took = stamp(event["endTime"]) - stamp(start) if start and event.get("endTime") else None
        lines.append(
            f"  {event['lifecycleEventName']:<{width}} {f'+{stamp(start) - t0:5.1f}s' if start else '     -':>7} "
            f"{f'{took:5.1f}s' if took is not None else '     -'}  {event['status']}"
        )
    lines += ["", "  production listener (read from the ELBv2 API):"]
    for at, weights in changes:
        shares = ", ".join(f"{name} {weight}%" for name, weight in sorted(weights.items()))
        lines.append(f"  {f'+{at - t0:5.1f}s' if at >= t0 else '  before'}  {shares}")
    failed = LoadGenerator.failed(samples)
    served = LoadGenerator.by_version(samples)
    during = [
        s for s in samples if s.at >= t0 and (not info.get("completeTime") or s.at <= stamp(info["completeTime"]))
    ]
    lines += [
        "",
        f"  steady load through the load balancer: {len(samples)} requests at {rate:.0f}/s "
        f"({len(during)} while the deployment ran)",
        "  served by version: " + ", ".join(f"{v}: {n}" for v, n in sorted(served.items(), key=lambda kv: str(kv[0]))),
        f"  failed requests: {len(failed)}" + (f" (first: {failed[0].error or failed[0].status})" if failed else ""),
        f"  latency: p50 {LoadGenerator.percentile(samples, 0.5) * 1000:.1f} ms, "
        f"p99 {LoadGenerator.percentile(samples, 0.99) * 1000:.1f} ms",
        "",
        "  timeline, one column per second (A = only the old version answered, B = only the new one, "
        "* = both, x = a failure):",
    ]
    if samples:
        first, last = int(samples[0].at), int(samples[-1].at)
        marks = []
        for second in range(first, last + 1):
            bucket = [s for s in samples if int(s.at) == second]
            versions = {s.version for s in bucket if s.status == 200}
            mark = (
                "x"
                if any(s in failed for s in bucket)
                else "*"
                if len(versions) > 1
                else ("A" if versions == {version_a} else "B" if versions == {version_b} else ".")
            )
            marks.append(mark)
        for index in range(0, len(marks), 60):
            lines.append("  " + "".join(marks[index : index + 60]))
    lines += [
        "",
        "  "
        + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in durations.items())
        + f"; total {time.monotonic() - started:.0f}s",
        "",
    ]
    return "\n".join(lines)


def canary_story(version_a: str, run, deployment: dict, serving) -> str:
    """A bad canary: its lifecycle events, the alarm, the deploy's own failure message, the blast radius."""
    info = deployment["info"]
    radius = blast_radius(run, fault_share=0.3)
    output = " ".join(run.result.stdout.split())
    found = re.search(r"msg: '?(Deploy of .*?)'? PLAY RECAP", output)
    failure = found.group(1).replace("''", "'") if found else "(see .sandbox/logs/demo-bad-canary.log)"
    lines = [
        "",
        f"A bad canary in the sandbox: orders {run.version} (was {version_a}) answers 500 to 30 % of real requests "
        f"once it has passed its checks; {info['deploymentId']} {info['status']}, "
        f"config {info['deploymentConfigName']}",
        "",
        "  lifecycle event          status",
        *(f"  {e['lifecycleEventName']:<22} {e['status']}" for e in deployment["events"]),
        "",
        "  production listener (read from the ELBv2 API):",
        *(
            f"  +{at - run.started:5.1f}s  " + ", ".join(f"{n} {w}%" for n, w in sorted(weights.items()))
            for at, weights in run.changes
        ),
        "",
        "  alarms that went to ALARM: "
        + (", ".join(f"{name} at +{at - run.started:.1f}s" for name, at in run.alarms.items()) or "none"),
        "",
        "  the deploy's failure, as the operator reads it:",
        *textwrap.wrap(failure, 112, initial_indent="    ", subsequent_indent="    "),
        "",
        f"  blast radius ({len(run.samples)} requests at {run.rate:.0f}/s on /items through the load balancer):",
        *radius.lines(),
        "  (sandbox delays, assumed: a datapoint at the end of its 3 s period, alarms evaluated right after; on AWS",
        "   ALB metrics arrive about a minute after the requests: detection takes minutes, not seconds)",
        "",
        f"  production now serves: {dict(serving)}",
        "",
    ]
    return "\n".join(lines)


def deploy_under_load(
    cfg, args, clients_: tuple, inventory: str, model: dict, *, durations: dict, started: float
) -> int:
    """Version B, blue/green, under steady load through the load balancer; prints the story. 0 if nothing failed."""
    elbv2, codedeploy = clients_
    balancer = elbv2.describe_load_balancers(Names=[model["load_balancer"]])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    production = next(listener for listener in listeners if listener["Port"] == 8080)
    watcher = ListenerWatcher.production(elbv2, production["ListenerArn"]).start()
    load = LoadGenerator(balancer["DNSName"], 8080, rate=args.rate).start()
    time.sleep(2)
    print(f"Deploying version B ({args.version_b}) blue/green under steady load...", flush=True)
    try:
        durations[f"deploy {args.version_b}"] = playbook(
            cfg, "deploy.yml", "-e", f"image_tag={args.version_b}", log_name="deploy-b", inventory=inventory
        )
        time.sleep(2)
    finally:
        samples = load.stop()
        changes = watcher.stop()
    if args.controller == "ecs":
        ecs = boto3.client(
            "ecs",
            endpoint_url=cfg.aws_endpoint,
            region_name=cfg.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        deployment = ecs_deployment(ecs, model, cfg.state / "logs" / "demo-deploy-b.log")
    else:
        deployment = latest_deployment(codedeploy, model["deployment_group"])
    print(
        story(
            (args.version_a, args.version_b),
            deployment,
            changes,
            samples,
            started=started,
            durations=durations,
            rate=args.rate,
        )
    )
    return 0 if not LoadGenerator.failed(samples) and deployment["info"]["status"] == "Succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.drivers.demo", description=__doc__)
    parser.add_argument("--version-a", default="1.1.0")
    parser.add_argument("--version-b", default="1.2.0")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second through the load balancer")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running at the end")
    parser.add_argument(
        "--controller",
        choices=sorted(INVENTORIES),
        default="codedeploy",
        help="who deploys: CodeDeploy (inventories/local) or ECS itself (inventories/local-ecs)",
    )
    parser.add_argument(
        "--scenario",
        choices=["deploy", "bad-canary"],
        default="deploy",
        help="deploy: version B rolls out under load; bad-canary: version B fails real requests and is rolled back",
    )
    args = parser.parse_args(argv)
    inventory, env_name = INVENTORIES[args.controller]
    if args.controller == "ecs" and args.scenario != "deploy":
        parser.error("--controller ecs shows the deploy scenario (the bad canary is CodeDeploy's, for now)")
    started = time.monotonic()
    durations: dict[str, float] = {}
    home = sandbox_config.default_home()
    if (home / "config.json").exists():
        cli.down(None)
    print("Starting the sandbox (moto, the ECS data plane, HAProxy, CodeDeploy)...", flush=True)
    cli.up(None)
    cfg = sandbox_config.load()
    try:
        # An administrator grants the environment's operator policies once (each playbook then signs as the
        # sandbox's user of the access it declares, holding only that policy: docs/iam.md).
        playbook(cfg, "playbooks/operator_access.yml", log_name="operator-access", inventory=inventory)
        print(f"Provisioning the {env_name} environment ({inventory}, playbooks/provision.yml)...", flush=True)
        durations["provision"] = playbook(cfg, "playbooks/provision.yml", log_name="provision", inventory=inventory)
        print(f"Deploying version A ({args.version_a})...", flush=True)
        durations[f"deploy {args.version_a}"] = playbook(
            cfg, "deploy.yml", "-e", f"image_tag={args.version_a}", log_name="deploy-a", inventory=inventory
        )
        elbv2, codedeploy = clients(cfg)
        if args.scenario == "bad-canary":
            box = Sandbox(cfg.state, ports=(cfg.aws_port, cfg.codedeploy_port))
            print(
                f"Deploying a bad version through {CANARY} under steady load: it passes every hook, then answers "
                "500 to 30 % of real requests...",
                flush=True,
            )
            run = bad_canary(box, {"SANDBOX_FAULT_ERROR_PERCENT": "30"}, rate=args.rate)
            (cfg.state / "logs" / "demo-bad-canary.log").write_text(run.result.stdout)
            serving = box.versions_served(10)
            stopped = latest_deployment(codedeploy, LOCAL["deployment_group"])
            print(canary_story(args.version_a, run, stopped, serving))
            return 0 if run.result.returncode != 0 and run.alarms and serving == {args.version_a: 10} else 1
        return deploy_under_load(
            cfg, args, (elbv2, codedeploy), inventory, names("orders", env_name), durations=durations, started=started
        )
    finally:
        if not args.keep:
            cli.down(None)


if __name__ == "__main__":
    sys.exit(main())

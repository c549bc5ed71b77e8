"""`python -m sandbox up | down | status | logs | restart` (the Makefile's `sandbox-*` targets call these).

up       start the AWS endpoint (moto + ECS data plane + HAProxy) and the CodeDeploy endpoint; a fresh AWS
         unless one is running, in which case only what is missing is started (after a crash, say)
down     stop every process `up` started (each runs in its own process group), and nothing else
status   what runs, where, and the environment a client needs
logs     print a log: aws | codedeploy | haproxy | lambda | tasks (-f to follow)
restart  restart one service (codedeploy): its deployments resume from its SQLite state
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sandbox import config as sandbox_config
from sandbox.elbv2.haproxy import HAProxy

SERVICES = {"aws": "sandbox.aws", "codedeploy": "sandbox.codedeploy.server"}


def _pid_file(cfg, name: str) -> Path:
    return cfg.state / "run" / f"{name}.pid"


def pid_of(cfg, name: str) -> int | None:
    """The pid of a service `up` started, if it still runs (and is that service, not a reused pid)."""
    path = _pid_file(cfg, name)
    if not path.exists():
        return None
    pid = int(path.read_text().split()[0])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return pid if SERVICES[name] in cmdline else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except OSError:
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


def start_service(cfg, name: str) -> int:
    (cfg.state / "run").mkdir(parents=True, exist_ok=True)
    (cfg.state / "logs").mkdir(parents=True, exist_ok=True)
    port = cfg.aws_port if name == "aws" else cfg.codedeploy_port
    if not _port_free(cfg.host, port):
        sys.exit(f"port {cfg.host}:{port} is in use: stop what uses it, or set SANDBOX_{name.upper()}_PORT")
    environment = {**os.environ, "PYTHONPATH": str(sandbox_config.REPO), "SANDBOX_HOME": str(cfg.state)}
    for key in list(environment):
        if key.startswith("AWS_ENDPOINT_URL"):
            del environment[key]  # the sandbox itself is not behind an endpoint override
    with (cfg.state / "logs" / f"{name}.log").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", SERVICES[name]],
            cwd=str(sandbox_config.REPO),
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file(cfg, name).write_text(f"{process.pid}\n")
    url = (cfg.aws_endpoint + "/moto-api/") if name == "aws" else cfg.codedeploy_endpoint
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode}: see {cfg.state / 'logs' / f'{name}.log'}")
        if _answers(url):
            return process.pid
        time.sleep(0.1)
    sys.exit(f"{name} did not answer on {url} within 60 s: see {cfg.state / 'logs' / f'{name}.log'}")


def stop_service(cfg, name: str, sig: int = signal.SIGTERM) -> bool:
    pid = pid_of(cfg, name)
    if pid is None:
        _pid_file(cfg, name).unlink(missing_ok=True)
        return False
    os.killpg(pid, sig)  # the service and what it started (tasks, HAProxy, Lambda runs): nothing else
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    _pid_file(cfg, name).unlink(missing_ok=True)
    return True


def up(args) -> None:
    if HAProxy.available() is None:
        sys.exit("HAProxy is not installed; it is the sandbox's load balancer: apt-get install -y haproxy")
    existing = sandbox_config.default_home() / "config.json"
    cfg = sandbox_config.load() if existing.exists() else sandbox_config.from_environment()
    if pid_of(cfg, "aws") is None:
        # A new AWS: moto keeps its state in memory, so CodeDeploy's must start empty too.
        stop_service(cfg, "codedeploy")
        cfg = sandbox_config.from_environment()
        for path in (
            "codedeploy.sqlite3",
            "codedeploy.sqlite3-wal",
            "codedeploy.sqlite3-shm",
            "haproxy.state",
            "lambda",
        ):
            target = cfg.state / path
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        cfg.save()
        start_service(cfg, "aws")
        seed_network(cfg)
        seed_secrets(cfg)
    if pid_of(cfg, "codedeploy") is None:
        start_service(cfg, "codedeploy")
    write_env_file(cfg)
    status(args)


def seed_network(cfg) -> None:
    """The network an account has before anything is deployed in it: a VPC (tag Name=sandbox) with two private and
    two public subnets (tag Tier) in two availability zones, an internet gateway for the public ones and a NAT gateway
    for the private ones."""
    import boto3

    ec2 = boto3.client(
        "ec2",
        endpoint_url=cfg.aws_endpoint,
        region_name=cfg.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    tags = [{"Key": "Name", "Value": "sandbox"}]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"][
        "VpcId"
    ]
    subnets: dict[str, list[str]] = {"private": [], "public": []}
    for index, (tier, zone) in enumerate([("private", "a"), ("private", "b"), ("public", "a"), ("public", "b")]):
        subnets[tier].append(
            ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=f"10.0.{index}.0/24",
                AvailabilityZone=f"{cfg.region}{zone}",
                TagSpecifications=[
                    {
                        "ResourceType": "subnet",
                        "Tags": [{"Key": "Tier", "Value": tier}, {"Key": "Name", "Value": f"sandbox-{tier}-{zone}"}],
                    }
                ],
            )["Subnet"]["SubnetId"]
        )
    # The public subnets route to an internet gateway; the private ones to a NAT gateway in a public subnet,
    # whose Elastic IP is where their requests to public addresses come from.
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    # A public address (TEST-NET-1, a documentation range; moto's own would be a 127.x address).
    allocation = ec2.allocate_address(Domain="vpc", Address="192.0.2.10")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets["public"][0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    for tier, target in (("public", {"GatewayId": gateway}), ("private", {"NatGatewayId": nat})):
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)
        for subnet in subnets[tier]:
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)


def seed_secrets(cfg) -> None:
    """The secrets the account already has (config.py: the project's `[tool.sandbox] secrets`). Each ARN carries
    Secrets Manager's random six-character suffix, as on AWS; each value is made here, never stored."""
    import secrets

    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=cfg.aws_endpoint,
        region_name=cfg.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for name in cfg.secrets:
        client.create_secret(Name=name, SecretString=secrets.token_urlsafe(24))


def write_env_file(cfg) -> None:
    lines = [f"export {key}={value}" for key, value in cfg.client_environment().items()]
    (cfg.state / "env").write_text("\n".join(lines) + "\n")


def down(args) -> None:
    cfg = sandbox_config.load() if (sandbox_config.default_home() / "config.json").exists() else None
    if cfg is None:
        print("no sandbox here")
        return
    for name in ("codedeploy", "aws"):
        print(f"{name}: {'stopped' if stop_service(cfg, name) else 'was not running'}")


def restart(args) -> None:
    cfg = sandbox_config.load()
    stop_service(cfg, args.service, signal.SIGKILL if args.kill else signal.SIGTERM)
    start_service(cfg, args.service)
    print(f"{args.service} restarted")


def status(args) -> None:
    cfg = sandbox_config.load()
    for name, url in (("aws", cfg.aws_endpoint + "/moto-api/"), ("codedeploy", cfg.codedeploy_endpoint)):
        pid = pid_of(cfg, name)
        state = "running" if pid and _answers(url) else ("not answering" if pid else "stopped")
        print(f"{name:<11} {state:<14} {url.removesuffix('/moto-api/')}  pid {pid or '-'}")
    config = cfg.state / "haproxy.cfg"
    if config.exists():
        binds = [line.split()[1] for line in config.read_text().splitlines() if line.strip().startswith("bind ")]
        print(f"{'alb':<11} {'listening':<14} {', '.join(binds)}")
    print(f"state and logs: {cfg.state}   time scale: {cfg.time_scale}   clients: source {cfg.state / 'env'}")


def logs(args) -> None:
    cfg = sandbox_config.load()
    if args.name == "tasks":
        paths = sorted((cfg.state / "logs" / "tasks").glob("*.log"))
    else:
        paths = [cfg.state / "logs" / f"{args.name}.log"]
    paths = [p for p in paths if p.exists()]
    if not paths:
        sys.exit(f"no {args.name} log yet in {cfg.state / 'logs'}")
    os.execvp("tail", ["tail", "-n", str(args.lines), *(["-F"] if args.follow else []), *map(str, paths)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up").set_defaults(func=up)
    commands.add_parser("down").set_defaults(func=down)
    commands.add_parser("status").set_defaults(func=status)
    log_parser = commands.add_parser("logs")
    log_parser.add_argument("name", choices=["aws", "codedeploy", "haproxy", "lambda", "tasks"])
    log_parser.add_argument("-f", "--follow", action="store_true")
    log_parser.add_argument("-n", "--lines", type=int, default=50)
    log_parser.set_defaults(func=logs)
    restart_parser = commands.add_parser("restart")
    restart_parser.add_argument("service", choices=["codedeploy"])
    restart_parser.add_argument("--kill", action="store_true", help="SIGKILL, as a crash would")
    restart_parser.set_defaults(func=restart)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

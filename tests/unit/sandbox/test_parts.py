"""The sandbox's pure parts: traffic steps, image lookup, the HAProxy configuration and health mapping."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from moto.awslambda.models import LambdaFunction

from sandbox.api_calls import ApiCalls
from sandbox.awslambda.patches import copy_functions_without_the_logs_backend
from sandbox.codedeploy.model import traffic_steps
from sandbox.config import Config
from sandbox.dataplane import DataPlane
from sandbox.ecs.agent import Agent, TaskProcess, restart_delay
from sandbox.elbv2 import haproxy as alb


@pytest.mark.parametrize(
    ("routing", "steps"),
    [
        ({"type": "AllAtOnce"}, [(100, 0)]),
        (
            {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}},
            [(10, 5), (100, 0)],
        ),
        (
            {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 1}},
            [(20, 1), (40, 1), (60, 1), (80, 1), (100, 0)],
        ),
        (
            {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 30, "linearInterval": 2}},
            [(30, 2), (60, 2), (90, 2), (100, 0)],
        ),
    ],
)
def test_traffic_steps_follow_the_deployment_config(routing, steps):
    assert traffic_steps({"trafficRoutingConfig": routing}) == steps


def test_an_image_is_found_by_tag_then_repository_then_short_name(tmp_path):
    images = {"orders": {"command": ["a"]}, "orders:2.0.0-broken": {"command": ["b"]}}
    config = Config(home=str(tmp_path), images=images)
    assert config.image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:1.0.0") == {"command": ["a"]}
    assert config.image("sandbox.local/orders:2.0.0-broken") == {"command": ["b"]}
    assert config.image("registry.local:5000/orders") == {"command": ["a"]}
    assert config.image("sandbox.local/billing:1.0.0") is None


def desired(blue_weight: int, blue_targets: int, green_targets: int) -> alb.Desired:
    check = alb.HealthCheck(path="/health", codes="200-202", interval=5, timeout=2, healthy=2, unhealthy=3)
    return alb.Desired(
        listeners={("orders", "127.1.0.1", 8080): [("orders-blue", blue_weight), ("orders-green", 100 - blue_weight)]},
        target_groups={
            "orders-blue": (check, [(f"127.2.0.{i}", 8000) for i in range(1, blue_targets + 1)]),
            "orders-green": (check, [(f"127.2.1.{i}", 8000) for i in range(1, green_targets + 1)]),
        },
    )


def test_listener_weights_are_split_over_each_target_groups_targets():
    weights = desired(80, 2, 1).weights()
    blue = [w for (_, server), w in weights.items() if server.startswith("orders-blue")]
    green = [w for (_, server), w in weights.items() if server.startswith("orders-green")]
    assert sum(blue) / (sum(blue) + sum(green)) == pytest.approx(0.8, abs=0.01)
    assert desired(100, 2, 2).weights()[("lb_orders_8080", "orders-green_127-2-1-1_8000")] == 0


def test_weights_alone_change_no_structure():
    assert desired(80, 2, 2).structure() == desired(20, 2, 2).structure()
    assert desired(80, 2, 2).structure() != desired(80, 2, 1).structure()


def test_the_configuration_health_checks_each_target_group_as_configured(tmp_path):
    text = alb.render(desired(100, 1, 1), tmp_path, scale=0.2)
    assert "option httpchk GET /health" in text
    assert "http-check expect rstatus ^(200|201|202)$" in text
    assert "default-server inter 1000ms rise 2 fall 3" in text
    assert "bind 127.1.0.1:8080" in text
    assert (
        "server orders-green_127-2-1-1_8000 127.2.1.1:8000 weight 0 track tg_orders-green/orders-green_127-2-1-1_8000"
        in text
    )
    assert "retries 0" in text


@pytest.mark.parametrize(
    ("row", "age", "expected"),
    [
        (None, 10, "initial"),
        ({"status": "UP 1/3", "check_status": "INI"}, 10, "initial"),
        ({"status": "UP", "check_status": "L7OK"}, 0.5, "initial"),
        ({"status": "UP", "check_status": "L7OK"}, 10, "healthy"),
        ({"status": "DOWN", "check_status": "L7STS", "check_code": "503"}, 10, "unhealthy"),
        ({"status": "DOWN", "check_status": "L4CON", "check_desc": "Connection refused"}, 10, "unhealthy"),
    ],
)
def test_target_health_reads_haproxys_checks(row, age, expected):
    check = alb.HealthCheck(path="/health", codes="200", interval=5, timeout=2, healthy=2, unhealthy=2)
    stats = {} if row is None else {("tg_orders-blue", "orders-blue_127-2-0-1_8000"): row}
    state, reason, _ = alb.target_health(stats, "orders-blue", ("127.2.0.1", 8000), age=age, check=check, scale=0.2)
    assert state == expected
    if row and row.get("check_code"):
        assert reason == "Target.ResponseCodeMismatch"


def test_a_master_command_waits_while_the_masters_socket_is_away(tmp_path):
    """HAProxy's master re-executes itself once after it starts and for each reload, its CLI socket gone or
    refusing meanwhile: a command sent then (a reload right after the start, on a loaded machine) waits for the
    socket instead of failing the ELB API call that caused it."""
    haproxy = alb.HAProxy(tmp_path, tmp_path / "haproxy.log", scale=1.0)
    haproxy.process = SimpleNamespace(poll=lambda: None)  # the master runs
    haproxy.master_socket.touch()  # a socket file nothing listens on: connect() is refused

    def master_back() -> None:
        time.sleep(0.3)
        haproxy.master_socket.unlink()
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(haproxy.master_socket))
            server.listen()
            connection, _ = server.accept()
            with connection:
                assert connection.recv(100) == b"reload\n"
                connection.sendall(b"Success=1\n")

    thread = threading.Thread(target=master_back)
    thread.start()
    assert haproxy.command("reload", master=True) == "Success=1\n"
    thread.join()

    haproxy.process = SimpleNamespace(poll=lambda: 0)  # the master exited: no waiting
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        haproxy.command("reload", master=True)


def test_a_copied_lambda_function_shares_the_accounts_logs_backend():
    """moto copies a function for CreateFunction with Publish and for ListFunctions; the copy must not walk into
    the account's CloudWatch Logs backend, which other threads write to meanwhile (sandbox/awslambda/patches.py)."""
    copy_functions_without_the_logs_backend()
    function = object.__new__(LambdaFunction)
    function.__dict__.update(logs_backend=SimpleNamespace(groups={}), environment_vars={"A": "1"})
    copied = copy.deepcopy(function)
    assert copied.logs_backend is function.logs_backend
    assert copied.environment_vars == {"A": "1"}
    assert copied.environment_vars is not function.environment_vars


def test_api_calls_are_told_apart_by_user_agent():
    assert ApiCalls.caller("Boto3/1.44 md/Botocore#1.44 app/sandbox-codedeploy-engine") == "codedeploy-engine"
    assert ApiCalls.caller("Boto3/1.44 app/sandbox-lambda") == "hooks"
    assert ApiCalls.caller("APN/1.0 Ansible/2.19.14 amazon.aws/10.1.2 Boto3/1.44") == "ansible"
    assert ApiCalls.caller("Boto3/1.44 md/Botocore#1.44 app/sandbox-ecs") == "ecs-engine"
    assert ApiCalls.caller("aws-cli/1.46.3") == "other"


def test_ecs_restart_throttle_doubles_up_to_27_minutes_on_the_time_scale() -> None:
    assert restart_delay(0, 1.0) == 0.0
    assert [restart_delay(n, 1.0) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert restart_delay(50, 1.0) == 27 * 60
    assert restart_delay(1, 0.05) == 0.5


def test_addresses_are_handed_out_once_when_environments_are_provisioned_at_once(tmp_path, monkeypatch):
    """moto's server answers each request in a thread: two environments' CreateFunction (or CreateLoadBalancer)
    at once took the next address from one generator, which raises "generator already executing" in the second
    thread; the 500 made botocore retry a call that had worked (ResourceConflictException "Function already
    exist"). A generator slow enough that every thread meets it inside: each address once, no error."""
    plane = DataPlane(Config(home=str(tmp_path)))

    def slow(prefix: str):
        for n in range(1, 100):
            time.sleep(0.01)
            yield f"{prefix}.{n}"

    monkeypatch.setattr(plane.functions, "_wire_addresses", slow("127.1.0"))
    monkeypatch.setattr(plane.balancers, "addresses", slow("127.2.0"))
    start = threading.Barrier(8)

    def both(n: int) -> tuple[str, str]:
        start.wait()
        return plane.functions.wire_address(f"function-{n}"), plane.balancers.allocate_address()

    with ThreadPoolExecutor(8) as pool:
        handed = list(pool.map(both, range(8)))
    assert len({wire for wire, _ in handed}) == 8
    assert len({balancer for _, balancer in handed}) == 8
    assert plane.functions.wire_address("function-3") == handed[3][0], "a function keeps its address"


def test_with_the_control_plane_isolated_a_starting_task_runs_beside_it_and_serves_on_the_data_planes_cpus(
    tmp_path: Path,
) -> None:
    """bench-sandbox's isolated mode (Sandbox.isolate_control_plane writes the CPU sets): a task's process starts
    on the control plane's CPUs, as a new Fargate task's start takes no CPU from the tasks that serve, and moves
    to the data plane's once it serves. Without the file, nothing is placed."""
    cpus = sorted(os.sched_getaffinity(0))
    assert len(cpus) >= 2, "this machine has one CPU: the sandbox's isolated mode needs two"
    (tmp_path / "run").mkdir()
    sets = tmp_path / "run" / "cpu-sets.json"
    sets.write_text(json.dumps({"data": cpus[:1], "control": cpus[1:]}))
    agent = Agent.__new__(Agent)
    agent.cfg = SimpleNamespace(state=tmp_path)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        task = TaskProcess(task=SimpleNamespace(id="t-1"), cluster="c", ip="127.0.0.1", port=8000, process=process)
        agent.place(task, serving=False)
        assert os.sched_getaffinity(process.pid) == set(cpus[1:])
        agent.place(task, serving=True)
        assert os.sched_getaffinity(process.pid) == set(cpus[:1])
        sets.unlink()
        os.sched_setaffinity(process.pid, set(cpus))
        agent.place(task, serving=False)
        assert os.sched_getaffinity(process.pid) == set(cpus)
    finally:
        process.kill()
        process.wait()

"""A sandbox of the tests' own, provisioned once with the real playbook and inventories/local; each test
deploys through it as an operator would. HAProxy is required (make test installs it)."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from sandbox.harness import Sandbox
from tests.e2e import background

# The environment's other service (inventories/local/services/worker.yml), where the lane's scenarios run.
LANE_SERVICE = "worker"


@pytest.fixture(scope="session")
def sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("HAProxy is not installed (the sandbox's load balancer): make test installs it")
    # E2E_SANDBOX_PORTS / E2E_SANDBOX_NETWORK: to run beside another e2e run on this machine.
    aws_port, codedeploy_port = (int(p) for p in os.environ.get("E2E_SANDBOX_PORTS", "4766,4767").split(","))
    network = int(os.environ.get("E2E_SANDBOX_NETWORK", "11"))
    # IAM propagation longer than the time provision takes from creating the roles to creating the hook functions
    # (40-50 s here beside the unit tests; once 59 s with more work beside them, and the first CreateFunction met no
    # delay): the first CreateFunction meets "cannot be assumed by Lambda", as it can on AWS, and provisioning must
    # ride it out (test_first_provision_rode_out_iam_propagation).
    # Lambda's network interfaces outlive their functions longer than teardown takes from deleting the functions
    # to deleting their security group (about 15 s), so teardown meets them (test_teardown.py), as on AWS.
    box = Sandbox(
        tmp_path_factory.mktemp("sandbox"),
        ports=(aws_port, codedeploy_port),
        network=network,
        iam_propagation_seconds=float(os.environ.get("E2E_IAM_PROPAGATION_SECONDS", "75")),
        lambda_eni_linger_seconds=30,
    )
    box.cli("up")
    started = time.time()
    try:
        box.grant_operator_access()
        # inventories/local's further service (test_services.py) is provisioned beside the application's own, at
        # the same time: most of a provision is waiting (IAM propagation, tasks starting), and the two stacks
        # share only the cluster, so the single-service scenarios run with a neighbour, as on a real account.
        worker = box.start_playbook("playbooks/provision.yml", "-e", "service=worker")
        box.provisioned = box.playbook("playbooks/provision.yml")
        output, _ = worker.communicate(timeout=900)
        assert worker.returncode == 0, f"provisioning the worker service failed:\n{output[-6000:]}"
        box.worker_provisioned = output
        box.worker_first_served = box.versions_served(10, service=LANE_SERVICE)
        record_scenario(box, "provision (the session's first provision.yml, both services)", started)
        # Scenarios in environments of their own run beside the others (tests/e2e/background.py). Their
        # playbooks run at a lower CPU priority: the main sequence of scenarios is the session's critical path,
        # and the background environments (like the unit and integration tests beside this run: the Makefile)
        # have slack, so they take the CPU the main sequence leaves while it waits.
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="background-scenario")
        side = box.deprioritized()
        # The lane: the scenarios marked `lane`, run one after another on the worker service beside the main
        # sequence (see run_lane).
        lane_items = [item for item in request.session.items if item.get_closest_marker("lane")]
        box.lane = {item.nodeid: Future() for item in lane_items}
        box.lane_done = pool.submit(run_lane, lane_items, side.service(LANE_SERVICE), box.lane)
        box.background = {
            "https": pool.submit(timed, "https", background.https_environment, side, tmp_path_factory.mktemp("https")),
            # The ECS controller's environment, its scenarios one after another (tests/e2e/test_ecs_controller.py).
            "ecs": pool.submit(timed, "ecs", background.ecs_environment, side, tmp_path_factory.mktemp("ecs")),
            # A CodeDeploy environment moved to the ECS controller under load (playbooks/migrate_controller.yml).
            "migration": pool.submit(
                timed, "migration", background.migration_environment, side, tmp_path_factory.mktemp("migration")
            ),
        }
        yield box
        pool.shutdown(wait=True)
    finally:
        box.cli("down")
        log_dir = box.home / "logs"
        if log_dir.exists():
            print(f"sandbox logs: {log_dir}")


# Each background environment's (start, end), for the summary: pytest's --durations lists tests only.
BACKGROUND_TIMES: dict[str, tuple[float, float]] = {}
SESSION_START = time.time()


def timed(name: str, scenario, box: Sandbox, folder: Path):
    started = time.time()
    try:
        return scenario(box, folder)
    finally:
        BACKGROUND_TIMES[name] = (started, time.time())
        record_scenario(box, f"background: {name}", started)


# The scenarios that read a background environment's results, the lane's (reported, not run, there) and
# test_services.py (the worker service, after the lane) come after the main environment's others: the main sequence
# goes on while the background environments and the lane finish, instead of waiting for them part way. Then the
# scenarios that break what every environment shares (the VPC's routes, a secret both services read, the
# environment's deploy policy), once nothing runs beside them (the `nothing_beside` fixture). The teardown checks
# stay last.
READS_A_BACKGROUND_ENVIRONMENT = (
    "test_ecs_controller.py",
    "test_services.py",
    "test_production_over_https_is_probed_by_the_service_hostname",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        if item.path.name == "test_teardown.py":
            return 3
        if "nothing_beside" in getattr(item, "fixturenames", ()):
            return 2
        if item.get_closest_marker("lane"):
            return 1
        return int(item.path.name in READS_A_BACKGROUND_ENVIRONMENT or item.name in READS_A_BACKGROUND_ENVIRONMENT)

    items.sort(key=rank)  # stable: each group keeps the files' order
    for item in items:
        if item.get_closest_marker("lane") and list(inspect.signature(item.obj).parameters) != ["sandbox"]:
            raise pytest.UsageError(f"{item.nodeid}: a lane scenario takes the sandbox fixture alone (run_lane)")


def run_lane(items: list[pytest.Item], box: Sandbox, outcomes: dict[str, Future]) -> None:
    """The scenarios marked `lane`, from the session's start, one after another, each with `sandbox` the worker
    service's view (Sandbox.service): most of a scenario is waiting on the sandbox's clock, and the worker shares
    only the cluster with the main sequence's service, as on a real account. Each test body runs here; its outcome
    (None, or what it raised) is what pytest reports when it reaches the test (pytest_pyfunc_call)."""
    for item in items:
        started = time.time()
        try:
            item.obj(sandbox=box)
        except BaseException as error:  # an assertion, pytest.fail: reported as the test's own
            outcomes[item.nodeid].set_result(error)
        else:
            outcomes[item.nodeid].set_result(None)
        finally:
            record_scenario(box, f"lane ({LANE_SERVICE}): {item.nodeid}", started)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A lane scenario's outcome, from the lane (run_lane), instead of running its body again."""
    if pyfuncitem.get_closest_marker("lane") is None:
        return None
    error = pyfuncitem.funcargs["sandbox"].lane[pyfuncitem.nodeid].result(timeout=3600)
    if error is not None:
        raise error
    return True


@pytest.fixture
def nothing_beside(sandbox: Sandbox) -> None:
    """For a scenario that breaks what every environment shares: the background environments and the lane are
    over (their tests ran before: pytest_collection_modifyitems)."""
    _done, running = wait([sandbox.lane_done, *sandbox.background.values()], timeout=3600)
    assert not running, "the lane or a background environment still runs after an hour"


def pytest_terminal_summary(terminalreporter) -> None:
    """The background environments' durations, beside the tests' (make test prints every scenario's time)."""
    if not BACKGROUND_TIMES:
        return
    terminalreporter.section("background environments (tests/e2e/background.py)")
    for name, (start, end) in sorted(BACKGROUND_TIMES.items(), key=lambda item: item[1][1] - item[1][0]):
        terminalreporter.write_line(
            f"{end - start:7.1f}s  {name}  (from {start - SESSION_START:.0f} s to {end - SESSION_START:.0f} s "
            "into the session)"
        )


def record_scenario(box: Sandbox, name: str, started: float) -> None:
    """When each scenario ran: the IAM analysis (sandbox/iam_analysis.py) attributes each decision to one."""
    with (box.home / "scenarios.jsonl").open("a") as f:
        f.write(json.dumps({"test": name, "start": started, "end": time.time()}) + "\n")


@pytest.fixture(autouse=True)
def scenario_timeline(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[None]:
    started = time.time()
    yield
    if request.node.get_closest_marker("lane") is None:  # the lane records its own (run_lane)
        record_scenario(sandbox, request.node.nodeid, started)

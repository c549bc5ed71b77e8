"""The end-to-end scenarios: one sandbox for the run, each environment's scenarios in a test module of its own.

Each module is one environment (its own stack in the sandbox, provisioned by a module-scoped fixture with the real
playbooks), named by its `xdist_group` mark (the local environment's application service spans several modules of
the group `local`): `make test` runs the environments side by side with pytest-xdist (`-n 5 --dist loadgroup`), each
environment's scenarios in order on one worker, because most of a scenario is waiting on the sandbox's clock. Without
`-n`, the same modules run one after another; any scenario runs alone with `-k`.

- The sandbox: the first process that needs it starts it, under a file lock (pytest-xdist's documented way of
  running a session fixture once); the process pytest was started in stops it at the end (pytest_sessionfinish).
  Its home, E2E_SANDBOX_HOME (default .e2e/sandbox), stays after the run: the audits of the whole run
  (tests/e2e_audit/) read its logs.
- What an environment's modules share, each provisions once (`Sandbox.once`: a file lock and the result on disk).
- Where environments meet, a lock (`Sandbox.lock`, fcntl.flock): a scenario that breaks what every environment
  shares (the VPC's routes, a secret, the environment's deploy policy) takes "shared" exclusively (the
  `nothing_beside` fixture); the other environments hold it shared while their module runs. The worker service's
  module holds "worker" while it deploys that service; the local environment's scenarios that also deploy the worker
  (two services side by side, the teardown) take it after.

HAProxy is required (make test installs it).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from sandbox.drivers.harness import REPO, Sandbox

GROUP_OF_A_SCENARIO = "xdist_group"
_GROUP_MARK = re.compile(r"pytest\.mark\.xdist_group\(\"([\w-]+)\"\)")


class EnvironmentScheduling(LoadScopeScheduling):
    """pytest-xdist's scope scheduling, a scope being an environment: the xdist_group its module is marked with.

    What --dist loadgroup does, without relying on renaming each test's node id (pytest-xdist 3.8 sets a node's
    `_nodeid`, which pytest 9 no longer reads, so its loadgroup spreads a group over every worker). The controller
    does not collect the tests, so the group is read from the module's source."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of_module(self.config.rootpath / nodeid.split("::", 1)[0]) or nodeid


@functools.cache
def group_of_module(path: Path) -> str | None:
    marks = set(_GROUP_MARK.findall(path.read_text()))
    return marks.pop() if len(marks) == 1 else None


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown when xdist is not loaded (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LoadScopeScheduling | None:
    return EnvironmentScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


def sandbox_home() -> Path:
    return Path(os.environ.get("E2E_SANDBOX_HOME", REPO / ".e2e" / "sandbox")).resolve()


def in_the_first_process(config: pytest.Config) -> bool:
    """The process pytest was started in (the xdist controller, or the only process without -n)."""
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if in_the_first_process(config):
        home = sandbox_home()
        if (home / "config.json").exists():  # a run interrupted before its end: its sandbox may still run
            Sandbox(home, **sandbox_settings()).cli("down")
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if in_the_first_process(session.config) and (sandbox_home() / "config.json").exists():
        box = Sandbox(sandbox_home(), **sandbox_settings())
        try:  # for the audits of the whole run (tests/e2e_audit/): the counter lives in the sandbox's memory
            (box.home / "logs" / "api-calls.json").write_text(json.dumps(box.api_calls()))
        finally:
            box.cli("down")
        print(f"\nsandbox logs: {box.home / 'logs'}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every scenario belongs to its environment's group: pytest-xdist keeps a group's scenarios on one worker, in
    order (a scenario without one could run beside its own environment's)."""
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent) and item.get_closest_marker(GROUP_OF_A_SCENARIO) is None:
            raise pytest.UsageError(f"{item.nodeid}: no pytest.mark.xdist_group (its environment: conftest.py)")


def sandbox_settings() -> dict:
    # E2E_SANDBOX_PORTS / E2E_SANDBOX_NETWORK: to run beside another e2e run on this machine.
    aws_port, codedeploy_port = (int(p) for p in os.environ.get("E2E_SANDBOX_PORTS", "4766,4767").split(","))
    return {
        "ports": (aws_port, codedeploy_port),
        "network": int(os.environ.get("E2E_SANDBOX_NETWORK", "11")),
        # IAM propagation longer than the time provision takes from creating the roles to creating the hook
        # functions: the first CreateFunction meets "cannot be assumed by Lambda", as it can on AWS, and provisioning
        # must ride it out (test_first_provision_rode_out_iam_propagation). That time: 40-60 s with two provisions
        # beside each other, 110 s with the five environments' provisions at once on two cores; the hooks role's
        # retries (two minutes) ride out the rest.
        "iam_propagation_seconds": float(os.environ.get("E2E_IAM_PROPAGATION_SECONDS", "120")),
        # Lambda's network interfaces outlive their functions longer than teardown takes from deleting the
        # functions to deleting their security group (about 15 s), so teardown meets them, as on AWS.
        "lambda_eni_linger_seconds": 30,
    }


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The run's sandbox, seen as inventories/local's application service (orders-local)."""
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("HAProxy is not installed (the sandbox's load balancer): make test installs it")
    box = Sandbox(sandbox_home(), **sandbox_settings())

    def start() -> dict:
        box.cli("up")
        # What an administrator does once per environment: the local environment's operator policies.
        box.grant_operator_access()
        return {"started": time.time()}

    box.once("sandbox", start)
    return box


@pytest.fixture(scope="session")
def local(sandbox: Sandbox) -> Sandbox:
    """inventories/local's application service, provisioned (once for the run, whichever module asks first)."""
    sandbox.provisioned = sandbox.once("provision-orders", lambda: sandbox.playbook("playbooks/provision.yml").stdout)
    return sandbox


@pytest.fixture(scope="session")
def worker_service(sandbox: Sandbox) -> Sandbox:
    """inventories/local's further service (services/worker.yml), provisioned once for the run."""
    worker = sandbox.service("worker")

    def provision() -> dict:
        output = worker.playbook("playbooks/provision.yml").stdout
        return {"output": output, "first_served": dict(worker.versions_served(10))}

    worker.provisioned_once = sandbox.once("provision-worker", provision)
    return worker


@pytest.fixture
def worker_alone(sandbox: Sandbox, worker_service: Sandbox) -> Iterator[dict]:
    """For a scenario of the local environment that deploys or removes the worker service too: it waits until the
    worker's own scenarios (test_worker_service.py, which hold the "worker" lock) are over. Gives what its provision
    said and served."""
    with sandbox.lock("worker"):
        yield worker_service.provisioned_once


@pytest.fixture
def nothing_beside(sandbox: Sandbox) -> Iterator[None]:
    """For a scenario that breaks what every environment shares (the VPC's routes, a secret both services read, the
    environment's deploy policy): it waits until no other environment's module runs, and none starts meanwhile."""
    with sandbox.lock("shared", shared=False):
        yield


@pytest.fixture(autouse=True)
def scenario_timeline(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[None]:
    """When each scenario ran, and in which environment: the IAM analysis (sandbox/drivers/iam_analysis.py)
    attributes each decision of the run to the scenarios that ran then."""
    started = time.time()
    yield
    marker = request.node.get_closest_marker(GROUP_OF_A_SCENARIO)
    entry = {"test": request.node.nodeid, "group": marker.args[0], "start": started, "end": time.time()}
    with (sandbox.home / "scenarios.jsonl").open("a") as f:
        f.write(json.dumps(entry) + "\n")

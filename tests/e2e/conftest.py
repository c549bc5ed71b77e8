"""A sandbox of the tests' own, provisioned once with the real playbook and inventories/local; each test
deploys through it as an operator would. HAProxy is required (make test installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.harness import Sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("HAProxy is not installed (the sandbox's load balancer): make test installs it")
    # E2E_SANDBOX_PORTS / E2E_SANDBOX_NETWORK: to run beside another e2e run on this machine.
    aws_port, codedeploy_port = (int(p) for p in os.environ.get("E2E_SANDBOX_PORTS", "4766,4767").split(","))
    network = int(os.environ.get("E2E_SANDBOX_NETWORK", "11"))
    # IAM propagation longer than the time provision takes from creating the roles to creating the hook
    # functions: the first CreateFunction meets "cannot be assumed by Lambda", as it can on AWS, and
    # provisioning must ride it out (test_first_provision_rode_out_iam_propagation).
    box = Sandbox(
        tmp_path_factory.mktemp("sandbox"),
        ports=(aws_port, codedeploy_port),
        network=network,
        iam_propagation_seconds=float(os.environ.get("E2E_IAM_PROPAGATION_SECONDS", "30")),
    )
    box.cli("up")
    try:
        # inventories/local's further service (test_services.py) is provisioned beside the application's own, at
        # the same time: most of a provision is waiting (IAM propagation, tasks starting), and the two stacks
        # share only the cluster, so the single-service scenarios run with a neighbour, as on a real account.
        worker = box.start_playbook("playbooks/provision.yml", "-e", "service=worker")
        box.provisioned = box.playbook("playbooks/provision.yml")
        output, _ = worker.communicate(timeout=900)
        assert worker.returncode == 0, f"provisioning the worker service failed:\n{output[-6000:]}"
        box.worker_provisioned = output
        yield box
    finally:
        box.cli("down")
        log_dir = box.home / "logs"
        if log_dir.exists():
            print(f"sandbox logs: {log_dir}")

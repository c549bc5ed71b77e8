"""A sandbox of the tests' own, provisioned once with the real playbook and inventories/local; each test
deploys through it as an operator would. HAProxy is required (make test installs it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.harness import Sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("HAProxy is not installed (the sandbox's load balancer): make test installs it")
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    box.cli("up")
    try:
        box.playbook("playbooks/provision.yml")
        yield box
    finally:
        box.cli("down")
        log_dir = box.home / "logs"
        if log_dir.exists():
            print(f"sandbox logs: {log_dir}")

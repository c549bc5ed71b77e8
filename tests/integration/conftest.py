"""The AWS emulator (moto in server mode) and a way to run our playbooks against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import REPO_ROOT
from tests.support import free_port, wait_until_listening

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    process = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_until_listening(port, process, timeout=60)
    yield endpoint
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture
def aws_env(moto_endpoint: str) -> dict[str, str]:
    """Environment for anything that talks to the emulator: boto3, the AWS CLI, the amazon.aws modules."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("AWS_PROFILE", None)
    return env


@pytest.fixture
def boto3_client(aws_env: dict[str, str]):
    def make(service: str):
        return boto3.client(
            service,
            endpoint_url=aws_env["AWS_ENDPOINT_URL"],
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture
def ansible_playbook(aws_env: dict[str, str]):
    """ansible-playbook from the repository root (so ansible.cfg applies), as an operator runs it."""

    def run(
        playbook: Path, *extra: str, check: bool = True, inventory: str | None = "tests/integration/inventory.yml"
    ) -> subprocess.CompletedProcess[str]:
        command = [str(VENV_BIN / "ansible-playbook"), str(playbook), *extra]
        if inventory:
            command[1:1] = ["-i", inventory]
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=aws_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ansible-playbook failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run

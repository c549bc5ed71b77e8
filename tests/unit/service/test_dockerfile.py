"""No Docker engine here: check the image's contract by reading it and running its commands locally."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.support import free_port, wait_until_listening

DOCKERFILE = (REPO_ROOT / "service" / "Dockerfile").read_text()


def _final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def _exec_form(instruction: str) -> list[str]:
    joined = _final_stage().replace("\\\n", " ")
    match = re.search(rf"^{instruction}\s+(?:.*?CMD\s+)?(\[.*\])\s*$", joined, re.MULTILINE)
    assert match, f"no exec-form {instruction} in the final stage"
    return json.loads(match.group(1))


def test_runs_as_a_non_root_user_in_a_multi_stage_build() -> None:
    assert DOCKERFILE.count("\nFROM ") == 2
    user = re.search(r"^USER\s+(\S+)", _final_stage(), re.MULTILINE)
    assert user
    assert user.group(1).split(":")[0] not in {"root", "0"}


def test_dockerignore_sends_only_the_service_and_its_requirements() -> None:
    rules = [
        line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert rules[0] == "*"
    assert {"!service/", "!requirements/service.txt", "!requirements/constraints.txt"} <= set(rules)
    # Every file copied from the build context exists (copies from another stage do not count).
    for flags, copied in re.findall(r"^COPY\s+((?:--\S+\s+)*)(.+)\s+\S+$", DOCKERFILE, re.MULTILINE):
        if "--from" in flags:
            continue
        for source in copied.split():
            assert (REPO_ROOT / source).exists(), f"COPY source {source} is missing"


def test_cmd_serves_and_healthcheck_passes_against_it(tmp_path: Path) -> None:
    cmd = _exec_form("CMD")
    healthcheck = _exec_form("HEALTHCHECK")
    assert cmd == ["python", "-m", "service", "serve"]
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "DRAIN_SECONDS": "0",
    }
    server = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(port, server)
        probe = subprocess.run(healthcheck, cwd=REPO_ROOT, env=env, timeout=10, check=False)
        assert probe.returncode == 0
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
    # Once the server is gone, the same health check fails, as Docker needs it to.
    assert subprocess.run(healthcheck, env=env, timeout=10, check=False, capture_output=True).returncode != 0

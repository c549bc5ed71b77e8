"""Graceful shutdown with a real uvicorn process: what a blue/green shift relies on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import REPO_ROOT
from tests.support import free_port, wait_until_listening


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "APP_VERSION": "2.0.0",
        "DRAIN_SECONDS": "2",
        "SHUTDOWN_GRACE_SECONDS": "10",
    }
    subprocess.run([sys.executable, "-m", "service", "migrate"], cwd=REPO_ROOT, env=env, check=True, timeout=60)
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.service.slow_server"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_listening(port, process)
            yield url, process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_sigterm_drains_then_exits_zero(server: tuple[str, subprocess.Popen]) -> None:
    url, process = server
    in_flight: dict[str, object] = {}

    def slow_request() -> None:
        response = httpx2.get(f"{url}/slow", params={"seconds": 3}, timeout=30)
        in_flight["status"] = response.status_code
        in_flight["body"] = response.json()

    requester = threading.Thread(target=slow_request)
    requester.start()
    time.sleep(0.3)  # the slow request is now being served
    sent_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    time.sleep(0.2)

    # During the drain: not ready, so the load balancer stops sending; but still serving.
    ready = httpx2.get(f"{url}/ready", timeout=5)
    assert ready.status_code == 503
    assert ready.json()["reason"] == "draining: the task is shutting down"
    assert httpx2.get(f"{url}/health", timeout=5).status_code == 200
    assert httpx2.post(f"{url}/items", json={"sku": "A-1", "name": "x"}, timeout=5).status_code == 201

    requester.join(timeout=30)
    assert in_flight == {"status": 200, "body": {"slept": 3.0}}
    assert process.wait(timeout=30) == 0
    # It waited for the drain period (2 s) and for the request in flight (3 s), not less.
    assert time.monotonic() - sent_at >= 2.5


def test_second_signal_cuts_the_drain_short(server: tuple[str, subprocess.Popen]) -> None:
    _url, process = server
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_logs_are_json_with_request_ids(server: tuple[str, subprocess.Popen], tmp_path: Path) -> None:
    url, process = server
    httpx2.get(f"{url}/health", headers={"X-Request-ID": "trace-42"}, timeout=5)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    records = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines() if line]
    access = [r for r in records if r["logger"] == "service.access" and r.get("request_id") == "trace-42"]
    assert len(access) == 1
    line = access[0]
    assert (line["method"], line["path"], line["status"], line["version"]) == ("GET", "/health", 200, "2.0.0")
    assert line["duration_ms"] >= 0

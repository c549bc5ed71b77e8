"""/health and /ready as the load balancer and ECS see them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from service.app import create_app
from service.readiness import ReadinessCheck
from service.settings import Settings
from tests.support import free_port


def test_health_reports_version_and_deployment(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "version": "1.2.3", "deployment_id": "d-TEST12345"}


def test_ready_when_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "version": "1.2.3"}


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_database_down_gives_503_naming_the_check() -> None:
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not ready"
        assert body["reason"].startswith("database: OperationalError")
        # Liveness does not depend on the database: ECS must not kill tasks for a database outage.
        assert client.get("/health").status_code == 200


@pytest.fixture
def silent_database() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a hung database."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_hung_database_answers_503_within_the_timeout(silent_database: int) -> None:
    settings = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{silent_database}/db", readiness_timeout_seconds=0.5
    )
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/ready")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["reason"] == "database: no answer within 0.5s"
    # The answer comes at the timeout, not at libpq's 2 s connect timeout.
    assert elapsed < 1.5


def test_pluggable_check_failure_is_named(migrated_settings: Settings) -> None:
    async def cache_down() -> None:
        raise ConnectionRefusedError("cache at 10.0.0.9:6379 refused the connection")

    app = create_app(migrated_settings, extra_checks=[ReadinessCheck("cache", cache_down)])
    with TestClient(app) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"] == ("cache: ConnectionRefusedError: cache at 10.0.0.9:6379 refused the connection")


def test_configured_tcp_dependency(migrated_settings: Settings) -> None:
    closed = free_port()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        open_port = listening.getsockname()[1]
        good = migrated_settings.model_copy(update={"ready_dependencies": [f"tcp://127.0.0.1:{open_port}"]})
        with TestClient(create_app(good)) as client:
            assert client.get("/ready").status_code == 200
    bad = migrated_settings.model_copy(update={"ready_dependencies": [f"tcp://127.0.0.1:{closed}"]})
    with TestClient(create_app(bad)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"].startswith(f"tcp 127.0.0.1:{closed}: ConnectionRefusedError")


def test_draining_turns_ready_to_503_and_keeps_health(client: TestClient) -> None:
    client.app.state.lifecycle.draining = True
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"] == "draining: the task is shutting down"
    assert client.get("/health").status_code == 200


def test_probe_bodies_are_what_fastapi_would_send(client: TestClient) -> None:
    health = client.get("/health")
    expected = JSONResponse({"status": "healthy", "version": "1.2.3", "deployment_id": "d-TEST12345"})
    assert (health.content, health.headers["content-type"]) == (expected.body, "application/json")
    assert client.get("/ready").content == JSONResponse({"status": "ready", "version": "1.2.3"}).body


def test_probes_answer_head_and_leave_other_methods_and_paths_to_the_api(client: TestClient) -> None:
    head = client.head("/health")
    assert (head.status_code, head.content, len(head.headers["x-request-id"])) == (200, b"", 32)
    assert client.post("/health").status_code in (404, 405)
    assert client.get("/items").status_code == 200

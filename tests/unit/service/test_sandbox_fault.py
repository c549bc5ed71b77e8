"""The sandbox's fault switch (sandbox/drivers/faulty_service.py) around the real service: the probes never meet it, API
requests fail at the exact share asked for, evenly spread, and are still logged with their request id."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient
from starlette.middleware import Middleware

from sandbox.drivers.faulty_service import Fault
from service.app import create_app
from service.settings import Settings


def test_probes_pass_and_a_share_of_api_requests_fail_evenly(migrated_settings: Settings, caplog):
    caplog.set_level(logging.INFO, logger="service.access")
    app = create_app(migrated_settings)
    app.user_middleware.append(Middleware(Fault, error_percent=30, latency_seconds=0, version="1.2.3"))
    with TestClient(app) as client:
        assert all(client.get(path).status_code == 200 for path in ["/health", "/ready"] * 10)
        statuses = [client.get("/items").status_code for _ in range(20)]
    assert [i + 1 for i, s in enumerate(statuses) if s == 500] == [4, 7, 10, 14, 17, 20]
    assert set(statuses) == {200, 500}
    failed = [r for r in caplog.records if r.name == "service.access" and getattr(r, "status", None) == 500]
    assert len(failed) == 6


def test_the_fault_can_wait_for_load_after_a_passing_smoke_test(migrated_settings: Settings):
    app = create_app(migrated_settings)
    app.user_middleware.append(Middleware(Fault, error_percent=50, latency_seconds=0, version="1.2.3", after=3))
    with TestClient(app) as client:
        statuses = [client.get("/items").status_code for _ in range(7)]
    assert statuses == [200, 200, 200, 200, 500, 200, 500]

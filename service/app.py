"""The application factory: routes, request logging, readiness and the draining state."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import items
from service.db import create_db_engine, session_factory
from service.logging_config import request_id_var
from service.readiness import ReadinessCheck, ReadinessGate, database_check, dependency_check
from service.settings import Settings, get_settings

access_log = logging.getLogger("service.access")
log = logging.getLogger("service")


@dataclass
class Lifecycle:
    """Shared by the server (which sets `draining` on SIGTERM) and the routes (which read it)."""

    draining: bool = False


class RequestContextMiddleware:
    """Gives each request an id (the caller's X-Request-ID, or a new one), echoes it, logs one line.

    Plain ASGI rather than BaseHTTPMiddleware: it costs less per request and never buffers bodies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"").decode("latin-1")
        # 128 random bits as 32 hex digits, like uuid4().hex, without a getrandom() system call per request:
        # an id only has to be unique, and the generator is seeded from the OS once per process.
        request_id = incoming[:128] if incoming.isprintable() and incoming else f"{random.getrandbits(128):032x}"
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


class ProbeMiddleware:
    """Answers GET /health and GET /ready itself, before FastAPI's exception handling and routing.

    The load balancer and ECS call the probes several times a second per task and their bodies never
    change: FastAPI's router, dependency solving and response validation would be most of their cost
    (bench/service_bench.py measures it). It sits inside RequestContextMiddleware, so every probe still
    gets a request id and an access line. Anything else goes on to the API.
    """

    def __init__(self, app: ASGIApp, settings: Settings, lifecycle: Lifecycle, readiness: ReadinessGate) -> None:
        self.app = app
        self.settings = settings
        self.lifecycle = lifecycle
        self.readiness = readiness
        # Encoded once: the bodies never change while the task runs.
        health = {"status": "healthy", "version": settings.app_version, "deployment_id": settings.deployment_id}
        self.health = JSONResponse(health).body
        self.ready = JSONResponse({"status": "ready", "version": settings.app_version}).body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            if scope["path"] == "/health":
                # Liveness: the process answers. Touches no dependency: a database outage never kills tasks.
                await Response(self.health, media_type="application/json")(scope, receive, send)
                return
            if scope["path"] == "/ready":
                response = await self.answer_ready()
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def answer_ready(self) -> Response:
        """Readiness: 200 when every check passes within the timeout; 503 naming the failed check.

        Draining answers 503 at once, never from a reused answer.
        """
        if self.lifecycle.draining:
            return _not_ready(self.settings, "draining: the task is shutting down")
        result = await self.readiness.result()
        if not result.ready:
            return _not_ready(self.settings, f"{result.failed_check}: {result.reason}")
        return Response(self.ready, media_type="application/json")


def create_app(settings: Settings | None = None, extra_checks: Iterable[ReadinessCheck] = ()) -> FastAPI:
    """Build the app. `extra_checks` plugs further readiness checks in beside the configured ones."""
    settings = settings or get_settings()
    engine = create_db_engine(settings)
    checks = [
        database_check(engine),
        *(dependency_check(url) for url in settings.ready_dependencies),
        *extra_checks,
    ]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "starting",
            extra={"database": settings.safe_database_url, "deployment_id": settings.deployment_id},
        )
        yield
        engine.dispose()
        log.info("stopped")

    # FastAPI's built-in OpenTelemetry is off: the service reports through its JSON logs, and with no
    # provider configured it would only look for one on every request.
    app = FastAPI(
        title="service",
        version=settings.app_version,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.lifecycle = Lifecycle()
    readiness = ReadinessGate(checks, settings.readiness_timeout_seconds, settings.readiness_reuse_seconds)
    app.add_middleware(ProbeMiddleware, settings=settings, lifecycle=app.state.lifecycle, readiness=readiness)
    app.add_middleware(RequestContextMiddleware)  # added last: the outermost of the two
    app.include_router(items.router)

    return app


def _not_ready(settings: Settings, reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "version": settings.app_version, "reason": reason}, status_code=503)

"""The application factory: routes, request logging, readiness and the draining state."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import items
from service.db import create_db_engine, session_factory
from service.logging_config import request_id_var
from service.readiness import ReadinessCheck, database_check, dependency_check, run_checks
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
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:128] if incoming.isprintable() and incoming else uuid.uuid4().hex
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

    app = FastAPI(title="service", version=settings.app_version, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.lifecycle = Lifecycle()
    app.add_middleware(RequestContextMiddleware)
    app.include_router(items.router)

    @app.get("/health", tags=["probes"])
    async def health() -> dict[str, str | None]:
        """Liveness: the process answers. Touches no dependency, so a database outage never kills tasks."""
        return {
            "status": "healthy",
            "version": settings.app_version,
            "deployment_id": settings.deployment_id,
        }

    @app.get("/ready", tags=["probes"])
    async def ready() -> JSONResponse:
        """Readiness: 200 when every check passes within the timeout; 503 naming the failed check."""
        if app.state.lifecycle.draining:
            return _not_ready(settings, "draining: the task is shutting down")
        result = await run_checks(checks, settings.readiness_timeout_seconds)
        if not result.ready:
            log.warning("not ready", extra={"check": result.failed_check, "reason": result.reason})
            return _not_ready(settings, f"{result.failed_check}: {result.reason}")
        return JSONResponse({"status": "ready", "version": settings.app_version})

    return app


def _not_ready(settings: Settings, reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "version": settings.app_version, "reason": reason}, status_code=503)

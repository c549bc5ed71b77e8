"""uvicorn with the drain that a blue/green shift needs for zero failed requests.

On SIGTERM (ECS stopping the task): /ready turns 503 at once, every request (new ones too) is still
served for `drain_seconds` so the load balancer can deregister the target, then uvicorn stops
accepting, waits up to `shutdown_grace_seconds` for requests in flight, and the process exits 0.
A second SIGTERM or SIGINT cuts the drain short.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.app import Lifecycle, create_app
from service.settings import Settings

log = logging.getLogger("service.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_seconds: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain_seconds = drain_seconds
        self.drain_deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn's own handler re-raises the signal after shutdown, which would end the process
        # with 143 instead of 0; ours ends it cleanly and adds the drain in front of the shutdown.
        if self.drain_deadline is None and self.drain_seconds > 0:
            self.lifecycle.draining = True
            self.drain_deadline = time.monotonic() + self.drain_seconds
            log.info("draining", extra={"signal": signal.Signals(sig).name, "seconds": self.drain_seconds})
            return
        self.lifecycle.draining = True
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and time.monotonic() >= self.drain_deadline:
            self.should_exit = True
        return await super().on_tick(counter)


def build_server(settings: Settings, app: FastAPI | None = None) -> DrainingServer:
    app = app or create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # logging is configured by the CLI (JSON, with request ids)
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        proxy_headers=True,
        forwarded_allow_ips="*",  # only the load balancer reaches the task: its security group says so
        server_header=False,
    )
    return DrainingServer(config, app.state.lifecycle, settings.drain_seconds)


def serve(settings: Settings, app: FastAPI | None = None) -> None:
    build_server(settings, app).run()

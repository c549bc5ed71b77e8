"""The service with a fault switch, for images that pass every hook and then fail real traffic.

`python -m sandbox.drivers.faulty_service` runs the real service (`python -m service serve`) with one more middleware,
innermost: the probes (/health, /ready) are answered before it, so the tasks stay healthy, /ready passes and the
test listener shows the right version; every other request meets the fault. Set in an image mapping's
environment (sandbox/config.py, `Sandbox.add_image`):

  SANDBOX_FAULT_ERROR_PERCENT     the share of API requests answered 500, spread evenly (the 4th, 7th, 10th ...
                                  request at 30 %), so the failed requests of a canary can be predicted
  SANDBOX_FAULT_LATENCY_SECONDS   added before each API request is answered
  SANDBOX_FAULT_AFTER_REQUESTS    the first N API requests of each task are served normally (default 0): a
                                  version that passes its smoke test, then fails under load

A test double, never part of the service's image: a fault switch has no place in production code.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from service.app import create_app
from service.logging_config import configure_logging
from service.server import serve
from service.settings import ConfigurationError, load_settings


class Fault:
    def __init__(
        self, app: ASGIApp, error_percent: float, latency_seconds: float, version: str, after: int = 0
    ) -> None:
        self.app = app
        self.after = max(0, after)
        self.share = max(0.0, min(100.0, error_percent)) / 100
        self.latency = max(0.0, latency_seconds)
        self.body = json.dumps({"detail": "fault injected by the sandbox", "version": version}).encode()
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.seen += 1
        n = self.seen - self.after
        if n <= 0:
            await self.app(scope, receive, send)
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        # The n-th request fails when the running count of failures due, floor(n x share), goes up.
        if math.floor(n * self.share) > math.floor((n - 1) * self.share):
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self.body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


def main() -> int:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.app_version, settings.deployment_id)
    app = create_app(settings)
    fault = Middleware(
        Fault,
        error_percent=float(os.environ.get("SANDBOX_FAULT_ERROR_PERCENT", "0")),
        latency_seconds=float(os.environ.get("SANDBOX_FAULT_LATENCY_SECONDS", "0")),
        version=settings.app_version,
        after=int(os.environ.get("SANDBOX_FAULT_AFTER_REQUESTS", "0")),
    )
    app.user_middleware.append(fault)  # innermost: after the probes are answered
    serve(settings, app)
    return 0


if __name__ == "__main__":
    sys.exit(main())

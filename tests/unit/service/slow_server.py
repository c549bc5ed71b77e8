"""The real service and server, plus one slow route, so a test can keep a request in flight.

Run as `python -m tests.unit.service.slow_server` with the service's environment variables.
"""

from __future__ import annotations

import asyncio

from service.app import create_app
from service.logging_config import configure_logging
from service.server import serve
from service.settings import load_settings


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.app_version, settings.deployment_id)
    app = create_app(settings)

    @app.get("/slow")
    async def slow(seconds: float) -> dict[str, float]:
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    serve(settings, app)


if __name__ == "__main__":
    main()

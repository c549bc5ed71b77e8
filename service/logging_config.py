"""Structured JSON logs, one object per line, with the request id of the request being served."""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestContextFilter(logging.Filter):
    """Stamps every record with the request id (if any) and the running version."""

    def __init__(self, version: str, deployment_id: str | None) -> None:
        super().__init__()
        self.version = version
        self.deployment_id = deployment_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.version = self.version
        record.deployment_id = self.deployment_id
        return True


def configure_logging(level: str, version: str, deployment_id: str | None) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "context": {
                    "()": RequestContextFilter,
                    "version": version,
                    "deployment_id": deployment_id,
                }
            },
            "formatters": {
                "json": {
                    "()": "pythonjsonlogger.json.JsonFormatter",
                    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                    "timestamp": False,
                }
            },
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stdout",
                    "formatter": "json",
                    "filters": ["context"],
                }
            },
            "root": {"handlers": ["stdout"], "level": level},
            # Our middleware writes one access line per request, with the request id; uvicorn's
            # own access log would duplicate it without one.
            "loggers": {
                "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
                "uvicorn.error": {"handlers": ["stdout"], "level": level, "propagate": False},
                "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
                # Alembic announces each of its plugins at INFO on every run; keep its migration lines.
                "alembic.runtime.plugins": {"level": "WARNING"},
            },
        }
    )

"""Structured JSON logs, one object per line, with the request id of the request being served."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import threading
import time
from contextvars import ContextVar
from datetime import date, datetime

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


# What every LogRecord has: anything else on a record came from `extra` (or the filter above).
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _json_default(value: object) -> object:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then every `extra` field.

    Written here instead of python-json-logger because the access line is written on every request:
    python-json-logger builds a new encoder and walks its reserved-attribute list per record, which cost
    5.5 us a line against 2 here (bench/service_bench.py), a quarter of a /health request.
    """

    _encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # The format logging's default uses ("2026-11-28 08:09:33,752"); strftime once per second.
        second = int(record.created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
        return f"{self._second_text},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return self._encode(line)


class BufferedAccessLogHandler(logging.StreamHandler):
    """Writes the INFO lines logged on the event loop in batches, as nginx's `access_log ... flush=`.

    Each request logs one line, and stdout is unbuffered in the image (PYTHONUNBUFFERED, so that nothing
    waits in a buffer when a task dies): one write() system call per line cost a fifth of a /health
    request (bench/service_bench.py). Here such lines are kept for at most `flush_seconds` (or until
    `max_kept` are waiting), then written with one call. Anything at WARNING or above, any line from
    another thread, and any line with no event loop running is written at once, after the kept lines, so
    the order is kept. `flush()` (logging.shutdown calls it at exit) writes what is kept; what a task
    killed with SIGKILL loses is at most `flush_seconds` of access lines.
    """

    def __init__(self, stream=None, flush_seconds: float = 0.1, max_kept: int = 256) -> None:
        super().__init__(stream)
        self.flush_seconds = flush_seconds
        self.max_kept = max_kept
        self._kept: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._kept.append(self.format(record) + self.terminator)
            loop = self._running_loop() if record.levelno < logging.WARNING and self.flush_seconds > 0 else None
            if loop is None or len(self._kept) >= self.max_kept:
                self._write_kept()
            elif self._flush_on is not loop:
                self._flush_on = loop
                # Thread-safe (one wake-up per batch, not per line), so that even a loop that has moved to
                # another thread since it was remembered gets its flush.
                loop.call_soon_threadsafe(loop.call_later, self.flush_seconds, self.flush)
        except Exception:
            self.handleError(record)

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        # asyncio.get_running_loop() makes a getpid() system call each time (CPython checks for a fork):
        # remember the server's loop and its thread, and ask again only off that thread or once it stopped.
        thread = threading.get_ident()
        if self._loop is not None and self._loop_thread == thread and self._loop.is_running():
            return self._loop
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        self._loop, self._loop_thread = loop, thread
        return loop

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # Handler.__init__ creates it (createLock)
            self._flush_on = None
            self._write_kept()

    def _write_kept(self) -> None:
        if self._kept:
            text, self._kept = "".join(self._kept), []
            self.stream.write(text)
        super().flush()


def configure_logging(level: str, version: str, deployment_id: str | None) -> None:
    # Every request writes an access line, so a log record must be cheap. The lines carry none of the
    # caller's file, thread or process, so the logging module is told not to collect them: the switches
    # the Logging HOWTO ("Optimization") gives for this, `_srcfile` included.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
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
                "json": {"()": JsonLineFormatter},
            },
            "handlers": {
                "stdout": {
                    "class": f"{__name__}.BufferedAccessLogHandler",
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

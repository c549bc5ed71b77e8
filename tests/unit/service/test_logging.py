"""The service's log lines: JSON with the same fields as before, access lines written in batches, none lost."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading

import pytest

from service.logging_config import BufferedAccessLogHandler, JsonLineFormatter, RequestContextFilter, request_id_var


class CountingStream:
    """A stream that records each write() separately, as each is one system call on an unbuffered stdout."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in "".join(self.writes).splitlines()]


@pytest.fixture
def logger() -> tuple[logging.Logger, BufferedAccessLogHandler, CountingStream]:
    stream = CountingStream()
    handler = BufferedAccessLogHandler(stream, flush_seconds=0.05, max_kept=100)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestContextFilter("3.1.0", "d-ABCDEF123"))
    test_logger = logging.getLogger("test.service.logging")
    test_logger.handlers = [handler]
    test_logger.setLevel(logging.INFO)
    test_logger.propagate = False
    return test_logger, handler, stream


def test_a_line_has_the_fields_operators_search_by(logger) -> None:
    test_logger, _handler, stream = logger
    token = request_id_var.set("trace-42")
    try:
        test_logger.info("request", extra={"method": "GET", "path": "/items", "status": 200, "duration_ms": 1.25})
    finally:
        request_id_var.reset(token)
    [line] = stream.lines()
    assert list(line) == [
        "time",
        "level",
        "logger",
        "message",
        "method",
        "path",
        "status",
        "duration_ms",
        "request_id",
        "version",
        "deployment_id",
    ]
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "INFO",
        "test.service.logging",
        "request",
        "trace-42",
    )
    assert (line["version"], line["deployment_id"], line["status"]) == ("3.1.0", "d-ABCDEF123", 200)
    # logging's default time format, to the millisecond
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", line["time"])


def test_exceptions_and_odd_values_are_kept(logger) -> None:
    test_logger, _handler, stream = logger
    try:
        raise ValueError("the migration table is locked")
    except ValueError:
        test_logger.exception("migration failed", extra={"database": object.__new__(type("Url", (), {}))})
    [line] = stream.lines()
    assert line["level"] == "ERROR"
    assert "ValueError: the migration table is locked" in line["exc_info"]
    assert line["database"].startswith("<")  # str() of what JSON cannot encode, never a lost line


def test_access_lines_on_the_event_loop_are_written_together_and_in_order(logger) -> None:
    test_logger, _handler, stream = logger

    async def serve() -> tuple[int, int]:
        for number in range(10):
            test_logger.info("request", extra={"n": number})
        kept = len(stream.writes)  # nothing written yet: the lines wait for the end of the flush interval
        test_logger.warning("not ready", extra={"n": 10})  # a warning is written at once, after them
        after_warning = len(stream.writes)
        for number in range(11, 15):
            test_logger.info("request", extra={"n": number})
        await asyncio.sleep(0.1)
        return kept, after_warning

    kept, after_warning = asyncio.run(serve())
    assert (kept, after_warning) == (0, 1)
    assert len(stream.writes) == 2
    assert [line["n"] for line in stream.lines()] == list(range(15))


def test_no_line_waits_longer_than_the_interval_nor_beyond_max_kept(logger) -> None:
    test_logger, handler, stream = logger

    async def serve() -> list[int]:
        written = []
        for number in range(250):
            test_logger.info("request", extra={"n": number})
            written.append(len(stream.writes))
        return written

    written = asyncio.run(serve())
    assert (written[98], written[99], written[199]) == (0, 1, 2)  # every 100 lines (max_kept)
    handler.flush()  # what logging.shutdown() does at exit
    assert [line["n"] for line in stream.lines()] == list(range(250))


def test_lines_from_threads_and_outside_a_loop_are_written_at_once(logger) -> None:
    test_logger, _handler, stream = logger
    test_logger.info("outside", extra={"n": 0})
    assert len(stream.writes) == 1
    worker = threading.Thread(target=lambda: test_logger.info("from a worker thread", extra={"n": 1}))
    worker.start()
    worker.join()
    assert len(stream.writes) == 2
    assert [line["message"] for line in stream.lines()] == ["outside", "from a worker thread"]

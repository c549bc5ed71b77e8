"""Readiness: can this task serve traffic right now? Pluggable checks, bounded by one timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2
from sqlalchemy import Engine, text


@dataclass(frozen=True)
class ReadinessCheck:
    """A named dependency check: `probe` returns when the dependency is usable and raises otherwise."""

    name: str
    probe: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class ReadinessResult:
    ready: bool
    failed_check: str | None = None
    reason: str | None = None


def database_check(engine: Engine) -> ReadinessCheck:
    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    # The default executor, not Starlette's thread limiter: a hung database must not use up the
    # threads that serve the API, and a busy API must not delay the readiness answer.
    async def probe() -> None:
        await asyncio.to_thread(select_one)

    return ReadinessCheck("database", probe)


def tcp_check(url: str) -> ReadinessCheck:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ValueError(f"{url!r}: a tcp:// dependency needs a host and a port")
    host, port = parts.hostname, parts.port

    async def probe() -> None:
        _reader, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return ReadinessCheck(f"tcp {host}:{port}", probe)


def http_check(url: str) -> ReadinessCheck:
    async def probe() -> None:
        async with httpx2.AsyncClient() as client:
            response = await client.get(url)
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")

    return ReadinessCheck(f"http {url}", probe)


def dependency_check(url: str) -> ReadinessCheck:
    return tcp_check(url) if url.startswith("tcp://") else http_check(url)


def _describe(exc: BaseException) -> str:
    # SQLAlchemy wraps the driver's error; its first line says what happened without the SQL.
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:300]


async def run_checks(checks: list[ReadinessCheck], timeout_s: float) -> ReadinessResult:
    """Run every check at once; answer within `timeout_s`, naming the first failed check in order.

    Not `asyncio.timeout`: that would cancel all of them and lose which one was slow.
    """
    tasks = {check.name: asyncio.create_task(check.probe()) for check in checks}
    if not tasks:
        return ReadinessResult(ready=True)
    _done, pending = await asyncio.wait(tasks.values(), timeout=timeout_s)
    for task in pending:
        task.cancel()
    for check in checks:
        task = tasks[check.name]
        if task in pending:
            return ReadinessResult(False, check.name, f"no answer within {timeout_s:g}s")
        if task.exception() is not None:
            return ReadinessResult(False, check.name, _describe(task.exception()))
    return ReadinessResult(ready=True)

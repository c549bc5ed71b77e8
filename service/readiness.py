"""Readiness: can this task serve traffic right now? Pluggable checks, bounded by one timeout."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2
from sqlalchemy import Engine, text

log = logging.getLogger("service")


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
    tasks: dict[str, asyncio.Task[None]] = {check.name: asyncio.ensure_future(check.probe()) for check in checks}
    if not tasks:
        return ReadinessResult(ready=True)
    _done, pending = await asyncio.wait(tasks.values(), timeout=timeout_s)
    for task in pending:
        task.cancel()
    for check in checks:
        task = tasks[check.name]
        if task in pending:
            return ReadinessResult(False, check.name, f"no answer within {timeout_s:g}s")
        error = task.exception()
        if error is not None:
            return ReadinessResult(False, check.name, _describe(error))
    return ReadinessResult(ready=True)


class ReadinessGate:
    """One readiness answer shared by every probe that asks while it is being found, and reused for a while.

    Single-flight: however many probes arrive at once, one round of checks runs (one `SELECT 1`); the others
    await the same answer. The answer is then reused for `reuse_seconds`, counted from the moment its checks
    began, so a dependency that fails is seen by the first probe after that, at the latest `reuse_seconds`
    plus the checks' `timeout_s` after it failed. A load balancer probes every few seconds: a reuse time of
    about a second changes nothing it sees, while a burst of probes costs one query instead of one each.

    Written here rather than taken from a library: the caches on PyPI (aiocache, async-lru, cachetools)
    either do not share an answer that is still being computed or would add a dependency to the image for
    these few lines.
    """

    def __init__(
        self,
        checks: Sequence[ReadinessCheck],
        timeout_s: float,
        reuse_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = list(checks)
        self.timeout_s = timeout_s
        self.reuse_seconds = reuse_seconds
        self.clock = clock
        self._answer: ReadinessResult | None = None
        self._checked_at = 0.0
        self._running: asyncio.Future[ReadinessResult] | None = None

    async def result(self) -> ReadinessResult:
        if self._answer is not None and self.clock() - self._checked_at < self.reuse_seconds:
            return self._answer
        if self._running is None:
            self._running = asyncio.ensure_future(self._check())
        # Shielded: a probe whose client goes away must not cancel the round the others wait for.
        return await asyncio.shield(self._running)

    async def _check(self) -> ReadinessResult:
        started = self.clock()
        try:
            answer = await run_checks(self.checks, self.timeout_s)
        finally:
            self._running = None
        if not answer.ready:
            # Once per round of checks, not once per probe.
            log.warning("not ready", extra={"check": answer.failed_check, "reason": answer.reason})
        self._answer, self._checked_at = answer, started
        return answer

"""/ready under load: one round of checks shared by concurrent probes, reused briefly, failures still seen."""

from __future__ import annotations

import asyncio

import httpx2
import psycopg
import pytest
from psycopg import sql

from service.app import create_app
from service.readiness import ReadinessCheck, ReadinessGate
from service.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingCheck:
    """A dependency whose health the test sets; counts how often it was asked, and how many at once."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.failing: str | None = None

    async def probe(self) -> None:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            if self.failing:
                raise ConnectionRefusedError(self.failing)
        finally:
            self.running -= 1

    def check(self) -> ReadinessCheck:
        return ReadinessCheck("database", self.probe)


def test_a_burst_of_probes_makes_one_check() -> None:
    dependency, clock = CountingCheck(), Clock()
    gate = ReadinessGate([dependency.check()], timeout_s=2, reuse_seconds=1, clock=clock)

    async def burst() -> list[bool]:
        return [result.ready for result in await asyncio.gather(*(gate.result() for _ in range(200)))]

    assert asyncio.run(burst()) == [True] * 200
    assert (dependency.calls, dependency.most_at_once) == (1, 1)


def test_the_answer_is_reused_for_the_reuse_time_then_checked_again() -> None:
    dependency, clock = CountingCheck(delay=0), Clock()
    gate = ReadinessGate([dependency.check()], timeout_s=2, reuse_seconds=1, clock=clock)

    async def scenario() -> list[tuple[float, bool, int]]:
        seen = []
        for advance in (0, 0.5, 0.49, 0.02, 0.3):
            clock.now += advance
            seen.append((advance, (await gate.result()).ready, dependency.calls))
        return seen

    # Counted from when the checks began: 0.99 s later the answer is reused, 1.01 s later it is not.
    assert asyncio.run(scenario()) == [(0, True, 1), (0.5, True, 1), (0.49, True, 1), (0.02, True, 2), (0.3, True, 2)]


def test_a_failure_is_seen_by_the_first_probe_after_the_reuse_time() -> None:
    dependency, clock = CountingCheck(delay=0), Clock()
    gate = ReadinessGate([dependency.check()], timeout_s=2, reuse_seconds=1, clock=clock)

    async def scenario() -> list[str | None]:
        reasons = [(await gate.result()).reason]
        dependency.failing = "database at 10.0.0.5:5432 refused the connection"
        clock.now += 0.5
        reasons.append((await gate.result()).reason)  # still the reused answer
        clock.now += 0.6
        reasons.append((await gate.result()).reason)  # 1.1 s after the last check: asked again
        dependency.failing = None
        clock.now += 0.5
        reasons.append((await gate.result()).reason)  # the failure is reused too: one query per second
        clock.now += 0.6
        reasons.append((await gate.result()).reason)
        return reasons

    refused = "ConnectionRefusedError: database at 10.0.0.5:5432 refused the connection"
    assert asyncio.run(scenario()) == [None, None, refused, refused, None]


def test_reuse_zero_still_shares_a_check_in_flight() -> None:
    dependency = CountingCheck()
    gate = ReadinessGate([dependency.check()], timeout_s=2, reuse_seconds=0)

    async def two_bursts() -> None:
        await asyncio.gather(*(gate.result() for _ in range(50)))
        await asyncio.gather(*(gate.result() for _ in range(50)))

    asyncio.run(two_bursts())
    assert (dependency.calls, dependency.most_at_once) == (2, 1)


def test_a_probe_that_goes_away_does_not_cancel_the_shared_check() -> None:
    dependency = CountingCheck(delay=0.2)
    gate = ReadinessGate([dependency.check()], timeout_s=2, reuse_seconds=1)

    async def scenario() -> bool:
        impatient = asyncio.ensure_future(gate.result())
        patient = asyncio.ensure_future(gate.result())
        await asyncio.sleep(0.05)
        impatient.cancel()  # the load balancer's probe timed out and closed its connection
        return (await patient).ready

    assert asyncio.run(scenario()) is True
    assert dependency.calls == 1


def _database_outage(admin_dsn: str, name: str, down: bool) -> None:
    """Turn a database away (new connections refused, open ones terminated) or let it back in."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("false" if down else "true")
            )
        )
        if down:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])


@pytest.mark.postgres
def test_a_database_outage_is_seen_within_the_reuse_time_plus_the_timeout(
    postgres_admin_dsn: str, postgres_url: str
) -> None:
    """The real /ready on PostgreSQL follows the database, at most one reuse window plus the timeout late."""
    settings = Settings(database_url=postgres_url, readiness_reuse_seconds=0.5, readiness_timeout_seconds=1)
    app = create_app(settings)
    name = postgres_url.rsplit("/", 1)[1]

    async def ready(client: httpx2.AsyncClient) -> tuple[int, str | None]:
        response = await client.get("/ready")
        return response.status_code, response.json().get("reason")

    async def scenario() -> list[tuple[int, str | None]]:
        seen = []
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://task") as client:
            seen.append(await ready(client))
            _database_outage(postgres_admin_dsn, name, down=True)
            try:
                seen.append(await ready(client))  # within the reuse time: the answer of a moment ago
                await asyncio.sleep(settings.readiness_reuse_seconds)
                seen.append(await ready(client))
            finally:
                _database_outage(postgres_admin_dsn, name, down=False)
            await asyncio.sleep(settings.readiness_reuse_seconds)
            seen.append(await ready(client))
        return seen

    answers = asyncio.run(scenario())
    assert answers[:2] == [(200, None), (200, None)]
    assert answers[2][0] == 503
    assert answers[2][1].startswith("database: OperationalError")
    assert answers[3] == (200, None)

"""Throughput and latency of /health, /ready and a CRUD round trip: the service vs a bare Starlette app.

The baseline (bench/bare_starlette.py) cannot be gamed: the same uvicorn set-up (uvloop, httptools, one
worker; checked in each process's memory map), no access log, identical response bodies (checked before
measuring); its /ready runs `SELECT 1` on the same database through the same driver on every request, and
its CRUD route makes the same INSERT and SELECT. The service runs as in production: `python -m service
serve`, the JSON access log on at INFO (one line per request, written to a file; counted afterwards).
The database is PostgreSQL at 127.0.0.1:5432 when it answers (a scratch database, dropped afterwards),
else SQLite.

Runs are interleaved (baseline, service, baseline, service, ... `--pairs` times per row, each `--seconds`
long, after a warm-up), and each row reports the medians and the median of the per-pair ratios with its
spread (lowest - highest), so one noisy moment on a shared 2-core machine cannot decide it. Prints figures,
asserts nothing about speed.

    .venv/bin/python bench/service_bench.py [--pairs 5] [--seconds 2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the tests' helpers come from the repository

from tests.support import free_port, wait_until_listening  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


# --- a keep-alive HTTP/1.1 client -----------------------------------------------------------------------------
# Hand-written on bare asyncio streams because a full client (httpx2) costs more CPU per request than the
# servers under test on this 2-core machine, which would make every server look equally fast.


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


_skus = itertools.count()


async def probe(connection: Connection, path: str) -> bool:
    status, _ = await connection.request("GET", path)
    return status == 200


async def crud(connection: Connection, _path: str) -> bool:
    """One round trip of the API: create an item, then read it back."""
    body = json.dumps({"sku": f"BENCH-{os.getpid()}-{next(_skus)}", "name": "bench", "quantity": 1}).encode()
    status, created = await connection.request("POST", "/items", body)
    if status != 201:
        return False
    status, _ = await connection.request("GET", f"/items/{json.loads(created)['id']}")
    return status == 200


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


async def load(port: int, path: str, seconds: float, concurrency: int) -> Run:
    operation = crud if path == "CRUD" else probe
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        connection = await Connection.open(port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                ok = await operation(connection, path)
                latencies.append(time.perf_counter() - started)
                errors += not ok
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Run(
        rps=len(latencies) / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        errors=errors,
        requests=len(latencies),
    )


# --- the servers ----------------------------------------------------------------------------------------------


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A scratch PostgreSQL database when the local server answers, else an SQLite file."""
    import psycopg  # noqa: PLC0415  (the service's driver; imported here so --help needs no database)

    name = f"bench_service_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=2)
    except psycopg.OperationalError:
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{scratch}/bench.db", "SQLite (no PostgreSQL at 127.0.0.1:5432)"
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES}/{name}", "PostgreSQL at 127.0.0.1:5432"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def loaded_modules(self) -> set[str]:
        """Which of uvloop / httptools the process has loaded (their compiled extensions in its memory map)."""
        maps = Path(f"/proc/{self.process.pid}/maps").read_text()
        return {module for module in ("uvloop", "httptools") if f"/{module}/" in maps}


@contextmanager
def start(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_listening(port, process)
        except AssertionError as e:
            raise SystemExit(f"{name} did not start ({e}): {log.read_text()[-2000:]}") from None
        yield Server(name, process, port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def bodies(port: int) -> dict[str, bytes]:
    connection = await Connection.open(port)
    try:
        return {path: (await connection.request("GET", path))[1] for path in ("/health", "/ready")}
    finally:
        connection.close()


def profile(server: Server, path: str, seconds: float, *, concurrency: int, scratch: str, top: int = 15) -> str:
    """Where the server's time goes under load: py-spy samples it while `path` is loaded; own time per function
    (`--gil`: only the thread running Python, so idle worker threads do not count)."""
    raw = Path(scratch, "profile.txt")
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server.process.pid)]
    spy = subprocess.Popen(
        [*command, "--gil", "-d", str(seconds), "-r", "250", "-f", "raw", "-o", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # py-spy attaches
    asyncio.run(load(server.port, path, seconds, concurrency))
    spy.wait(timeout=seconds + 30)
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frame = stack.split(";")[-1]
        function, _, where = frame.partition(" (")
        module = where.split("site-packages/")[-1].split(f"{ROOT}/")[-1].split(":")[0]
        own[f"{function} ({module})"] += int(count)
    total = sum(own.values()) or 1
    lines = [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return f"py-spy, {server.name} under {path}, own time by function ({total} samples):\n" + "\n".join(lines)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5, help="interleaved baseline/service pairs per row (>= 3)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections per run")
    parser.add_argument(
        "--log-level", default="INFO", help="the service's LOG_LEVEL (INFO: one access line per request, as deployed)"
    )
    parser.add_argument("--profile", action="store_true", help="then profile the service under /health with py-spy")
    parser.add_argument("--rows", default="/health,/ready,CRUD", help="which rows, comma-separated")
    args = parser.parse_args()
    if args.pairs < 3:
        parser.error("--pairs must be at least 3: a median of fewer pairs is one noisy moment")
    rows = args.rows.split(",")

    with database() as (url, database_name), tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "DATABASE_URL": url, "APP_VERSION": "bench", "LOG_LEVEL": args.log_level}
        subprocess.run([sys.executable, "-m", "service", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        base_port, service_port = free_port(), free_port()
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_starlette:app", "--loop", "uvloop"]
        uvicorn += ["--http", "httptools", "--no-access-log", "--log-level", "warning", "--port", str(base_port)]
        service_env = {**env, "PORT": str(service_port)}
        with (
            start("baseline", uvicorn, env, base_port, Path(scratch, "baseline.log")) as baseline,
            start(
                "service",
                [sys.executable, "-m", "service", "serve"],
                service_env,
                service_port,
                Path(scratch, "service.log"),
            ) as service,
        ):
            for server in (baseline, service):
                if server.loaded_modules() != {"uvloop", "httptools"}:
                    raise SystemExit(f"{server.name} does not run on uvloop and httptools: {server.loaded_modules()}")
            expected, got = asyncio.run(bodies(base_port)), asyncio.run(bodies(service_port))
            if expected != got:
                raise SystemExit(f"the bodies differ, the comparison would be unfair: {expected} vs {got}")

            results: dict[str, dict[str, list[Run]]] = {}
            for path in rows:
                for server in (baseline, service):  # warm-up, discarded
                    asyncio.run(load(server.port, path, min(1.0, args.seconds), args.concurrency))
                results[path] = {"baseline": [], "service": []}
                for _ in range(args.pairs):
                    for server in (baseline, service):
                        results[path][server.name].append(
                            asyncio.run(load(server.port, path, args.seconds, args.concurrency))
                        )
            profiled = (
                profile(service, "/health", 5, concurrency=args.concurrency, scratch=scratch) if args.profile else ""
            )
            log_lines = service.log.read_text().count('"message": "request"')
            served = sum(
                run.requests * (2 if path == "CRUD" else 1) for path in rows for run in results[path]["service"]
            )

    print(
        f"service vs bare Starlette: uvicorn + uvloop + httptools, one worker each; {database_name}; "
        f"{args.pairs} interleaved pairs of {args.seconds:g} s per row, {args.concurrency} keep-alive connections"
    )
    print(
        f"the service's JSON access log at INFO: {log_lines} lines for the {served}+ requests it served (warm-ups too)"
    )
    header = (
        f"{'row':<9}{'baseline req/s':>15}{'service req/s':>15}{'ratio (spread)':>23}"
        f"{'p99 ms base':>13}{'p99 ms svc':>12}{'p99 ratio':>11}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for path, runs in results.items():
        ratios = [s.rps / b.rps for b, s in zip(runs["baseline"], runs["service"], strict=True)]
        p99_ratios = [s.p99_ms / b.p99_ms for b, s in zip(runs["baseline"], runs["service"], strict=True)]
        errors = sum(run.errors for server_runs in runs.values() for run in server_runs)
        print(
            f"{path:<9}{statistics.median(r.rps for r in runs['baseline']):>15.0f}"
            f"{statistics.median(r.rps for r in runs['service']):>15.0f}"
            f"{f'{statistics.median(ratios):.2f}x ({spread(ratios)})':>23}"
            f"{statistics.median(r.p99_ms for r in runs['baseline']):>13.2f}"
            f"{statistics.median(r.p99_ms for r in runs['service']):>12.2f}"
            f"{f'{statistics.median(p99_ratios):.2f}x':>11}{errors:>8}"
        )
    print("(CRUD: one POST /items then one GET /items/{id} per operation; req/s counts operations)")
    if profiled:
        print(profiled)


if __name__ == "__main__":
    main()

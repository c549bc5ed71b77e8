"""Throughput and latency of /health and /ready: the service vs a bare Starlette app, side by side.

Both run under the same uvicorn settings, one at a time, in this one run; the same client sends the
same fixed number of requests at the same concurrency. Prints requests/s, p50 and p99 latency and the
ratio to the baseline. Figures, never a pass/fail.

    .venv/bin/python bench/service_bench.py [--requests 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(command: list[str], env: dict[str, str], port: int):
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx2.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{command} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def load(url: str, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    """A keep-alive HTTP/1.1 client on bare asyncio streams.

    Hand-written because a full client (httpx2) costs more CPU per request than the servers under
    test on this 2-core machine, which would make every server look equally fast.
    """
    parts = urlsplit(url)
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker() -> None:
        nonlocal errors, remaining
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                status = await _get(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), latencies, errors


def measure(base: str, path: str, requests: int, concurrency: int) -> dict[str, float]:
    asyncio.run(load(base + path, min(300, requests), concurrency))  # warm-up, discarded
    rps, latencies, errors = asyncio.run(load(base + path, requests, concurrency))
    latencies.sort()
    return {
        "rps": rps,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    results: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch}/bench.db",
            "APP_VERSION": "bench",
            "LOG_LEVEL": "INFO",
        }
        subprocess.run(
            [sys.executable, "-m", "service", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers = {
            "baseline": [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_starlette:app",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            "service": [sys.executable, "-m", "service", "serve"],
        }
        for name, base_command in servers.items():
            port = free_port()
            command = [*base_command, "--port", str(port)] if name == "baseline" else base_command
            with running(command, {**env, "PORT": str(port)}, port) as base:
                for path in ("/health", "/ready"):
                    results[(name, path)] = measure(base, path, args.requests, args.concurrency)

    print(f"{args.requests} requests per row, concurrency {args.concurrency}, uvicorn, one worker each")
    header = f"{'server':<10}{'path':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'req/s vs baseline':>20}"
    print(header)
    print("-" * len(header))
    for (name, path), row in results.items():
        ratio = row["rps"] / results[("baseline", path)]["rps"]
        print(
            f"{name:<10}{path:<9}{row['rps']:>9.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['errors']:>8}{ratio:>19.2f}x"
        )


if __name__ == "__main__":
    main()

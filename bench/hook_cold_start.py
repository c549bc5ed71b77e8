"""What packaging the pinned SDK (hooks/build.py) costs the hook functions: each zip's size, and the cold start it
adds, i.e. the time to import the handler module and create the clients of the services its modules call, in a
fresh interpreter, from the unpacked zip, against the same hook importing the sandbox's own boto3 (standing for the
SDK the Lambda runtime bundles, installed with its bytecode).

Three ways, each in a fresh interpreter per run, nothing called over the network:

- runtime SDK: the hook's modules alone, boto3 from this venv's site-packages (as before the SDK was packaged);
- packaged, read-only: the whole zip with -S -I -B, so nothing but the zip and the standard library is found
  and no bytecode is written or found: as on Lambda, whose /var/task is read-only, every cold start compiles the
  SDK's modules (the zip ships no bytecode: the build's Python is not the runtime's);
- packaged, bytecode cached: the same after a first run wrote __pycache__ (what the sandbox's Lambda sees after a
  function's first invocation, and what shipping bytecode for the runtime's Python would give).

Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB); the CPU-bound difference is
scaled for the hooks' memory (roles/lambda_hooks/defaults/main.yml) as an estimate, not a measurement.

Run with `python bench/hook_cold_start.py [--runs N] [--hook NAME]`. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks import build

REPO = Path(__file__).resolve().parents[1]
ONE_VCPU_MB = 1769  # Lambda developer guide, "Configuring Lambda function memory"

# Timed inside the interpreter, so interpreter start-up (the same in every way) is left out.
PROBE = r"""
import importlib, json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
handler = importlib.import_module(sys.argv[2]).handler
imported = time.perf_counter()
from hooks import common
for service in sys.argv[3:]:
    common.client(service)
created = time.perf_counter()
import boto3
print(json.dumps({"import": imported - started, "clients": created - imported, "sdk": boto3.__file__}))
"""


def services_called(hook: str) -> list[str]:
    """The services whose clients the hook's modules create (`client("...")`)."""
    found = set()
    for name in build.files_of(hook):
        for node in ast.walk(ast.parse((build.PACKAGE / name).read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "client"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return sorted(found)


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def run(flags: list[str], code: Path, hook: str, home: Path) -> dict:
    module = build.handler_of(hook).rsplit(".", 1)[0]
    started = time.perf_counter()
    printed = subprocess.run(
        [sys.executable, *flags, "-c", PROBE, str(code), module, *services_called(hook)],
        cwd=home,
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return {**json.loads(printed), "process": time.perf_counter() - started}


def unpack(payload: bytes, into: Path, only_hooks: bool = False) -> Path:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = [n for n in archive.namelist() if n.startswith("hooks/") or not only_hooks]
        archive.extractall(into, names)
    return into


def sizes(payload: bytes) -> tuple[int, int, int, int]:
    """(zip bytes, of which the SDK's compressed entries, unpacked bytes, files)."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        infos = archive.infolist()
    sdk = sum(i.compress_size for i in infos if not i.filename.startswith("hooks/"))
    return len(payload), sdk, sum(i.file_size for i in infos), len(infos)


def median(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per way and hook (default 5)")
    parser.add_argument("--hook", choices=sorted(build.HOOKS), action="append", help="default: all five")
    args = parser.parse_args()
    hooks = args.hook or list(build.HOOKS)
    memory = int(yaml.safe_load((REPO / "roles/lambda_hooks/defaults/main.yml").read_text())["lambda_hooks_memory_mb"])

    started = time.perf_counter()
    build.sdk_archive()
    print(f"SDK part compressed in {(time.perf_counter() - started) * 1000:.0f} ms (once per build process)")
    print(f"{'hook':<24} {'zip KB':>8} {'SDK KB':>8} {'unpacked KB':>12} {'files':>6}")
    payloads = {hook: build.build_zip(hook) for hook in hooks}
    for hook, payload in payloads.items():
        total, sdk, unpacked, files = sizes(payload)
        print(f"{hook:<24} {total / 1024:>8.0f} {sdk / 1024:>8.0f} {unpacked / 1024:>12.0f} {files:>6}")

    print(f"\nmedian of {args.runs} fresh interpreters, ms: import handler + create clients (whole process)")
    print(f"{'hook':<24} {'runtime SDK':>22} {'packaged, read-only':>22} {'packaged, cached':>22} {'added':>7}")
    added_all = []
    sources: dict[str, str] = {}
    for hook, payload in payloads.items():
        with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
            home = Path(tmp)
            alone = unpack(payload, home / "hooks-only", only_hooks=True)
            task = unpack(payload, home / "task")
            cached = unpack(payload, home / "cached")
            run(["-S", "-I"], cached, hook, home)  # writes the bytecode the cached way then finds
            ways = {
                "runtime": (["-I", "-B"], alone),
                "read-only": (["-S", "-I", "-B"], task),
                "cached": (["-S", "-I"], cached),
            }
            samples: dict[str, list[dict]] = {way: [] for way in ways}
            for _ in range(args.runs):  # interleaved, so a busy moment weighs on every way alike
                for way, (flags, code) in ways.items():
                    samples[way].append(run(flags, code, hook, home))
        cells = []
        for way in ways:
            inner = median(samples[way], "import") + median(samples[way], "clients")
            cells.append((inner, median(samples[way], "process")))
        added = cells[1][0] - cells[0][0]
        added_all.append(added)
        print(
            f"{hook:<24}"
            + "".join(f" {f'{inner:.0f} ({process:.0f})':>22}" for inner, process in cells)
            + f" {added:>+7.0f}"
        )
        if hook == hooks[0]:
            sources = {way: samples[way][0]["sdk"].removeprefix(tmp) for way in ways}
    print("boto3 imported from: " + ", ".join(f"{way}: {source}" for way, source in sources.items()))
    scale = ONE_VCPU_MB / memory
    added = statistics.median(added_all)
    print(
        f"\nadded by the packaged SDK on a cold start: {added:.0f} ms here (one core); at {memory} MB "
        f"(~{memory / ONE_VCPU_MB:.2f} vCPU) roughly x{scale:.1f}: ~{added * scale:.0f} ms "
        "(an estimate: the difference is CPU-bound, compiling the SDK's modules)"
    )


if __name__ == "__main__":
    main()

"""Build the five hook zips, deterministically: the same sources give byte-identical zips.

    python -m hooks.build --out build/hooks     # prints one JSON line per zip: name, handler, path, sha256, size

Deterministic so that re-provisioning compares hashes and does not update a Lambda for nothing: entries in a
fixed order (the SDK's, then the hook's, each sorted), a fixed timestamp and fixed permissions, no compiled files.
Each zip holds the shared modules, its own handler and the pinned AWS SDK for Python (boto3, botocore and what
importing them needs), with the models of the services the hooks call and nothing else.

Why the SDK is packaged: the boto3 a Lambda runtime bundles depends on the runtime and the Region, AWS publishes
no table of its versions, and botocore drops response fields its model does not know (ECS's
`lifecycleHookDetails`, `resolvedConfiguration` are recent). Lambda searches the function's own code
(/var/task) first, so the packaged SDK is the one the hooks import (Lambda developer guide, "Working with .zip
file archives for Python Lambda functions": it recommends packaging every dependency, boto3 included).
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import io
import json
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from module_utils.model.names import LIFECYCLE_HOOKS

PACKAGE = Path(__file__).resolve().parent
CONSTRAINTS = PACKAGE.parent / "requirements" / "constraints.txt"
# What every handler imports (hooks/handler.py's layers): the plumbing, the facts, both adapters and the entry.
SHARED = ("__init__.py", "codedeploy_event.py", "common.py", "ecs_event.py", "facts.py", "handler.py")

# Further modules a handler imports, besides the shared ones.
EXTRA_MODULES = {
    "validate-test-traffic": ("budgets.py", "http_probe.py"),
    "validate-production": ("http_probe.py",),
}
# function suffix -> (handler module, lifecycle event, further modules it imports), in the model's order: the
# model (module_utils/model/names.py) names the events and the functions, for the AppSpec and the roles.
HOOKS = {suffix: (suffix.replace("-", "_"), event, EXTRA_MODULES.get(suffix, ())) for event, suffix in LIFECYCLE_HOOKS}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

# The SDK and every distribution `import boto3` and creating a client import (boto3.compat imports s3transfer),
# at the versions requirements/constraints.txt pins. All pure Python: one zip serves every runtime's architecture.
SDK_DISTRIBUTIONS = ("boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3")
# The services the hooks create clients for (`client("...")` in hooks/*.py): only their models are packaged.
# A hook that calls another service needs it added here (tests/unit/hooks/test_packaging.py says so).
SDK_SERVICES = ("cloudwatch", "codedeploy", "ecs", "elbv2")
# What botocore reads from its data folder for any client besides the service's own models: the endpoints and
# partitions, the defaults-mode table, and the rules of legacy retries (AWS_RETRY_MODE=legacy chooses them).
BOTOCORE_SHARED_DATA = ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json")


class PackagingError(Exception):
    """The installed SDK is not the pinned one, or not as its wheel installed it: the zips would differ."""


def files_of(hook: str) -> list[str]:
    module, _event, extra = HOOKS[hook]
    return sorted([*SHARED, *extra, f"{module}.py"])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(constraints: Path) -> dict[str, str]:
    pins = {}
    for line in constraints.read_text().splitlines():
        name, pinned, version = line.split("#", 1)[0].partition("==")
        if pinned:
            pins[_canonical(name.strip())] = version.strip()
    return pins


# botocore's data folder holds every service's model, tens of MB. Nothing installs or packages a subset: botocore
# has no per-service install (boto/botocore#1543 and #3485, open feature requests), and pip, wheels and Lambda's
# own guidance ship it whole; the advice given in boto/botocore#1629 is to delete the folders of the services
# not used, which projects do by hand. So the rule is written here: the shared files above, and the
# folders of the services the hooks call without their examples (API documentation only). boto3's data folder
# holds resource models (boto3.resource), which the hooks never use. tests/unit/hooks/test_packaging.py creates
# every client from the built zip alone, and checks that each data file shipped is read.
def _packaged(path: str) -> bool:
    parts = path.split("/")
    if parts[0] == ".." or "__pycache__" in parts or path.endswith(".pyc"):
        return False  # console scripts installed outside site-packages, and bytecode of the build's Python
    if parts[0].endswith(".dist-info"):
        # METADATA answers importlib.metadata.version(); licences and notices go with the code (Apache 2.0 sec. 4).
        return parts[1] in ("METADATA", "licenses") or parts[1].startswith(("LICENSE", "NOTICE"))
    if parts[:2] == ["boto3", "data"]:
        return False
    if parts[:2] == ["botocore", "data"]:
        if len(parts) == 3:
            return parts[2] in BOTOCORE_SHARED_DATA
        return parts[2] in SDK_SERVICES and not parts[-1].startswith("examples-")
    return True


def _record_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def sdk_files() -> list[tuple[str, bytes]]:
    """(path in the zip, content) of the SDK's packaged files, from the installed distributions: each at its pinned
    version, each file as its wheel installed it (RECORD's sha256), so the same pins give the same bytes."""
    pins = pinned_versions(CONSTRAINTS)
    fix = f"install the pinned versions (pip install -c {CONSTRAINTS} -r requirements/ops.txt)"
    files = []
    for name in SDK_DISTRIBUTIONS:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise PackagingError(f"{name} is not installed: {fix}") from None
        pinned = pins.get(_canonical(name))
        if distribution.version != pinned:
            raise PackagingError(f"{name} {distribution.version} is installed, the pin is {pinned}: {fix}")
        for file in distribution.files or ():
            path = file.as_posix()
            if not _packaged(path):
                continue
            if path.endswith((".so", ".pyd", ".dylib")):
                raise PackagingError(f"{name} ships a compiled extension ({path}): a zip for any architecture cannot")
            data = Path(str(distribution.locate_file(file))).read_bytes()
            if file.hash is None or file.hash.mode != "sha256" or _record_digest(data) != file.hash.value:
                raise PackagingError(f"{path} differs from what {name} {pinned} installed (its RECORD): {fix}")
            files.append((path, data))
    return sorted(files)


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    # The models are gzip files already: deflating them again costs time and saves nothing.
    info.compress_type = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
    # zlib's default level: level 9 makes the SDK's part 0.5% smaller for three times the CPU.
    archive.writestr(info, data, compresslevel=6)


@functools.cache
def sdk_archive() -> bytes:
    """The SDK's part of every zip, compressed once per process: the five zips share it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sdk_files():
            _add(archive, name, data)
    return buffer.getvalue()


def build_zip(hook: str) -> bytes:
    buffer = io.BytesIO(sdk_archive())
    with zipfile.ZipFile(buffer, "a") as archive:  # appends the hook's modules after the SDK's entries
        for name in files_of(hook):
            _add(archive, f"hooks/{name}", (PACKAGE / name).read_bytes())
    return buffer.getvalue()


def handler_of(hook: str) -> str:
    return f"hooks.{HOOKS[hook][0]}.handler"


def build_all(out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for hook, (_module, event, _extra) in HOOKS.items():
        payload = build_zip(hook)
        path = out / f"{hook}.zip"
        if not path.exists() or path.read_bytes() != payload:
            path.write_bytes(payload)
        digest = hashlib.sha256(payload).digest()
        built.append(
            {
                "name": hook,
                "lifecycle_event": event,
                "handler": handler_of(hook),
                "path": str(path),
                "sha256": digest.hex(),
                # What Lambda reports as CodeSha256, to compare without downloading the code.
                "code_sha256": base64.b64encode(digest).decode(),
                "size": len(payload),
            }
        )
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/hooks"))
    try:
        built = build_all(parser.parse_args().out)
    except PackagingError as e:
        sys.exit(f"hooks.build: {e}")
    for line in built:
        print(json.dumps(line))


if __name__ == "__main__":
    main()

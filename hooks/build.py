"""Build the five hook zips, deterministically: the same sources give byte-identical zips.

    python -m hooks.build --out build/hooks     # prints one JSON line per zip: name, handler, path, sha256

Deterministic so that re-provisioning compares hashes and does not update a Lambda for nothing: entries in
sorted order, a fixed timestamp and fixed permissions, no compiled files. Each zip holds the shared modules
and its own handler, nothing else (boto3 is in the Lambda runtime).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

from module_utils.bluegreen_model import LIFECYCLE_HOOKS

PACKAGE = Path(__file__).resolve().parent
SHARED = ("__init__.py", "common.py", "ecs_event.py", "facts.py")

# Further modules a handler imports, besides the shared ones.
EXTRA_MODULES = {
    "validate-test-traffic": ("budgets.py", "http_probe.py"),
    "validate-production": ("http_probe.py",),
}
# function suffix -> (handler module, lifecycle event, further modules it imports), in the model's order: the
# model (module_utils/bluegreen_model.py) names the events and the functions, for the AppSpec and the roles.
HOOKS = {suffix: (suffix.replace("-", "_"), event, EXTRA_MODULES.get(suffix, ())) for event, suffix in LIFECYCLE_HOOKS}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def files_of(hook: str) -> list[str]:
    module, _event, extra = HOOKS[hook]
    return sorted([*SHARED, *extra, f"{module}.py"])


def build_zip(hook: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in files_of(hook):
            info = zipfile.ZipInfo(f"hooks/{name}", date_time=ZIP_EPOCH)
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (PACKAGE / name).read_bytes(), compresslevel=9)
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
            }
        )
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/hooks"))
    for line in build_all(parser.parse_args().out):
        print(json.dumps(line))


if __name__ == "__main__":
    main()

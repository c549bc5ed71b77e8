"""The execution environment's build context: ansible-builder makes it from execution-environment.yml (no
image is built here: there is no container engine), with the versions the tests run with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml
from ansible_collections.amazon.aws.plugins.module_utils.version import LooseVersion

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def bundled_collections() -> dict[str, str]:
    listed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    versions = {}
    for collections in json.loads(listed.stdout).values():
        for name, info in collections.items():
            versions.setdefault(name, info["version"])
    return versions


def admits(spec: str, version: str) -> bool:
    for part in spec.split(","):
        operator, bound = re.match(r"(>=|<=|==|<|>)(.+)", part.strip()).groups()
        left, right = LooseVersion(version), LooseVersion(bound)
        if not {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right, "==": left == right}[
            operator
        ]:
            return False
    return True


def test_the_build_context_holds_the_tested_versions(tmp_path):
    context = tmp_path / "context"
    subprocess.run(
        [str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(context)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    ops = pins(REPO / "requirements" / "ops.txt")
    assert f"ansible-core=={ops['ansible-core']}" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    python = pins(context / "_build" / "requirements.txt")
    # The AWS SDK and what the hook zips carry with it (hooks/build.py refuses other versions), as constrained.
    constraints = pins(REPO / "requirements" / "constraints.txt")
    packaged = ("boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3")
    assert python == {name: constraints[name] for name in packaged}
    assert (python["boto3"], python["botocore"]) == (ops["boto3"], ops["botocore"])
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text()) == yaml.safe_load(
        (REPO / "requirements.yml").read_text()
    )


def test_the_collection_ranges_admit_what_the_venv_runs():
    """AWX installs requirements.yml; the tests ran the collections bundled with `ansible`."""
    bundled = bundled_collections()
    wanted = yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    assert {c["name"] for c in wanted} == {"amazon.aws", "community.aws", "awx.awx"}
    for collection in wanted:
        assert admits(collection["version"], bundled[collection["name"]]), (collection, bundled[collection["name"]])

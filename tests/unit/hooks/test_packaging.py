"""The hook zips: byte-identical from the same sources, holding what each handler imports and the pinned AWS SDK
with only the models of the services the hooks call."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from hooks import build
from sandbox.awslambda import runner as lambda_runner

REPO = Path(build.__file__).resolve().parents[1]
PINS = build.pinned_versions(build.CONSTRAINTS)
# The Python of the functions (the lambda_hooks role's runtime, "python3.12"): the SDK packaged must run on it.
RUNTIME = yaml.safe_load((REPO / "roles/lambda_hooks/defaults/main.yml").read_text())["lambda_hooks_runtime"]
RUNTIME_VERSION = RUNTIME.removeprefix("python")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sdk_packages() -> set[str]:
    """The top-level packages and modules of the packaged distributions (boto3, botocore, six, ...)."""
    return {
        Path(str(file)).parts[0].removesuffix(".py")
        for name in build.SDK_DISTRIBUTIONS
        for file in metadata.files(name) or ()
        if not str(file).startswith("..") and ".dist-info" not in str(file) and "__pycache__" not in str(file)
    }


def dist_info(name: str) -> str:
    """The folder of a distribution's metadata at its pinned version, as its wheel names it."""
    return f"{metadata.distribution(name).name.replace('-', '_')}-{PINS[canonical(name)]}.dist-info"


def built_zip(tmp_path: Path, hook: str) -> dict:
    (built,) = [b for b in build.build_all(tmp_path) if b["name"] == hook]
    return built


def unpacked(tmp_path: Path, hook: str) -> tuple[dict, Path]:
    """The zip unpacked as Lambda unpacks it into /var/task."""
    built = built_zip(tmp_path / "zips", hook)
    code = tmp_path / "task"
    with zipfile.ZipFile(built["path"]) as archive:
        archive.extractall(code)
    return built, code


def test_same_sources_give_byte_identical_zips(tmp_path: Path) -> None:
    first = build.build_all(tmp_path / "one")
    second = build.build_all(tmp_path / "two")
    assert [b["sha256"] for b in first] == [b["sha256"] for b in second]
    for built in first:
        name = Path(built["path"]).name
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_another_process_builds_the_same_bytes(tmp_path: Path) -> None:
    """The SDK's part is compressed once per process (build.sdk_archive): a fresh process gives the same zips."""
    here = build.build_all(tmp_path / "here")
    printed = subprocess.run(
        [sys.executable, "-m", "hooks.build", "--out", str(tmp_path / "there")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    there = [json.loads(line) for line in printed.splitlines()]
    assert [(b["name"], b["sha256"], b["size"]) for b in there] == [(b["name"], b["sha256"], b["size"]) for b in here]


def test_rebuilding_does_not_touch_an_unchanged_zip(tmp_path: Path) -> None:
    build.build_all(tmp_path)
    path = tmp_path / "run-migrations.zip"
    before = path.stat().st_mtime_ns
    build.build_all(tmp_path)
    assert path.stat().st_mtime_ns == before


def test_all_five_lifecycle_events_have_a_hook() -> None:
    assert sorted(event for _module, event, _extra in build.HOOKS.values()) == sorted(
        ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]
    )


@pytest.mark.parametrize("hook", sorted(build.HOOKS))
def test_each_zip_holds_only_what_its_handler_imports(tmp_path: Path, hook: str) -> None:
    built = built_zip(tmp_path, hook)
    with zipfile.ZipFile(built["path"]) as archive:
        infos = archive.infolist()
        assert {info.date_time for info in infos} == {build.ZIP_EPOCH}
        assert {info.external_attr >> 16 for info in infos} == {0o100644}
        names = [info.filename for info in infos]
        ours = [name for name in names if name.startswith("hooks/")]
        assert all(name.endswith(".py") for name in ours)
        assert {name.split("/")[0].removesuffix(".py") for name in names if name not in ours} == {
            *sdk_packages(),
            *(dist_info(name) for name in build.SDK_DISTRIBUTIONS),
        }
        shipped = {Path(name).stem for name in ours}
        imported: set[str] = set()
        for name in ours:
            tree = ast.parse(archive.read(name))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module)
                    if node.module == "hooks":
                        imported.update(f"hooks.{alias.name}" for alias in node.names)
    used = {module.split(".", 1)[1] for module in imported if module.startswith("hooks.")}
    assert used <= shipped, f"{hook} imports hooks modules it does not ship: {used - shipped}"
    assert shipped - {"__init__"} <= used | {build.HOOKS[hook][0]}, f"{hook} ships modules it never imports"
    foreign = {m.split(".")[0] for m in imported} - {"hooks", "__future__"} - sdk_packages()
    assert foreign <= set(sys.stdlib_module_names), f"{hook} needs {foreign - set(sys.stdlib_module_names)}"


@pytest.mark.parametrize("hook", sorted(build.HOOKS))
def test_each_zip_carries_the_pinned_sdk_with_only_the_models_the_hooks_use(tmp_path: Path, hook: str) -> None:
    with zipfile.ZipFile(built_zip(tmp_path, hook)["path"]) as archive:
        names = set(archive.namelist())
        for name in build.SDK_DISTRIBUTIONS:
            assert f"Version: {PINS[canonical(name)]}\n" in archive.read(f"{dist_info(name)}/METADATA").decode(), name
        assert f"__version__ = '{PINS['botocore']}'" in archive.read("botocore/__init__.py").decode()
        assert f"__version__ = '{PINS['boto3']}'" in archive.read("boto3/__init__.py").decode()
    data = [name.split("/")[2:] for name in names if name.startswith("botocore/data/")]
    assert {parts[0] for parts in data if len(parts) > 1} == set(build.SDK_SERVICES)
    assert {parts[0] for parts in data if len(parts) == 1} == set(build.BOTOCORE_SHARED_DATA)
    assert not [parts for parts in data if parts[-1].startswith("examples-")]
    assert not [name for name in names if name.startswith("boto3/data/") or name.endswith(".pyc")]
    assert not [name for name in names if name.endswith(("/RECORD", "/INSTALLER", "/direct_url.json"))]


def test_the_models_packaged_are_those_of_the_services_the_hooks_call() -> None:
    """A hook that creates a client for another service needs its model in build.SDK_SERVICES."""
    literal, computed = set(), []
    for source in sorted(build.PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in ("client", "resource"):
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    literal.add(argument.value)
                else:
                    computed.append(f"{source.name}:{node.lineno}")
    assert literal == set(build.SDK_SERVICES)
    # The one call that names no service: hooks.common.client's boto3.client(service), which the calls above feed.
    assert len(computed) == 1, computed
    assert computed[0].startswith("common.py:"), computed


def test_the_packaged_distributions_are_what_boto3_requires_on_the_runtime() -> None:
    """A new dependency of a newer pin (or one the runtime's Python needs) must be packaged too."""
    needed: set[str] = set()
    todo = ["boto3"]
    while todo:
        name = canonical(todo.pop())
        if name in needed:
            continue
        needed.add(name)
        for spec in metadata.requires(name) or ():
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is None or marker.evaluate({"extra": "", "python_version": RUNTIME_VERSION}):
                todo.append(requirement.name)
    assert needed == {canonical(name) for name in build.SDK_DISTRIBUTIONS}
    for name in build.SDK_DISTRIBUTIONS:
        requires_python = metadata.metadata(name).get("Requires-Python") or ""
        assert SpecifierSet(requires_python).contains(RUNTIME_VERSION), (name, requires_python, RUNTIME)


def test_an_sdk_other_than_the_pinned_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(build.CONSTRAINTS.read_text().replace("botocore==", "botocore==0.0.1+"))
    monkeypatch.setattr(build, "CONSTRAINTS", constraints)
    with pytest.raises(build.PackagingError, match=r"botocore .* is installed, the pin is 0\.0\.1\+"):
        build.sdk_files()


# Run in a fresh interpreter with nothing but the standard library and the unpacked zip on its path (-S: no
# site-packages, -I: no environment or user site, -B: no bytecode written, as /var/task is read-only): imports the
# handler, creates each service's client as the hooks do and with legacy retries (AWS_RETRY_MODE=legacy in a
# function's environment would choose them), loads its paginators and waiters, and makes no call. Prints where the
# SDK came from and which of botocore's data files were read.
CLIENTS_FROM_THE_ZIP = r"""
import importlib, importlib.metadata, json, sys
code, handler_module, services = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, code)
read = set()
def audit(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(code + "/botocore/data/"):
        read.add(args[0][len(code) + 1:])
sys.addaudithook(audit)
handler = importlib.import_module(handler_module).handler
import boto3, botocore
from botocore.config import Config
from hooks import common
for service in services:
    for client in (common.client(service), boto3.client(service, config=Config(retries={"mode": "legacy"}))):
        client.can_paginate(next(iter(client.meta.method_to_api_mapping)))
        client.waiter_names
print(json.dumps({
    "boto3": boto3.__file__, "botocore": botocore.__file__, "botocore_version": botocore.__version__,
    "versions": {d.metadata["Name"]: d.version for d in importlib.metadata.distributions(path=[code])},
    "read": sorted(read),
}))
"""


@pytest.mark.parametrize("hook", sorted(build.HOOKS))
def test_the_handler_and_its_clients_come_from_the_zip_alone(tmp_path: Path, hook: str) -> None:
    built, code = unpacked(tmp_path, hook)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
        # What Lambda sets from the execution role; a client is created without a call.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    module = built["handler"].rsplit(".", 1)[0]
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-B", "-c", CLIENTS_FROM_THE_ZIP, str(code), module, *build.SDK_SERVICES],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["boto3"] == str(code / "boto3" / "__init__.py")
    assert found["botocore"] == str(code / "botocore" / "__init__.py")
    assert found["botocore_version"] == PINS["botocore"]
    assert {canonical(name): version for name, version in found["versions"].items()} == {
        canonical(name): PINS[canonical(name)] for name in build.SDK_DISTRIBUTIONS
    }
    # Every data file packaged is read: none is shipped for nothing (and none missing, or a client would fail).
    with zipfile.ZipFile(built["path"]) as archive:
        packaged = sorted(n for n in archive.namelist() if n.startswith("botocore/data/"))
    assert found["read"] == packaged


def run_in_the_sandbox(code: Path, handler: str, event: dict) -> tuple[dict, str]:
    """One invocation through the sandbox's Lambda runner, started as sandbox/aws.py starts it (this interpreter, the
    runner's script, the function's code as working directory and LAMBDA_TASK_ROOT): (the handler's result, its
    output)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(code.parent),
        "AWS_CONFIG_FILE": str(code.parent / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(code.parent / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # What Lambda sets: the Region, the execution role's credentials (a client is created without a call).
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": f"{Path(lambda_runner.__file__).parent / 'runtime'}{os.pathsep}{code}",
        "LAMBDA_TASK_ROOT": str(code),
        "_HANDLER": handler,
    }
    completed = subprocess.run(
        [sys.executable, lambda_runner.__file__],
        input=json.dumps(event),
        cwd=code,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output, marker, result = completed.stdout.rpartition("\n" + lambda_runner.RESULT_MARKER)
    assert marker, completed.stderr
    return json.loads(result), output


def test_the_sandbox_runs_a_hook_with_the_sdk_of_its_zip_not_its_own(tmp_path: Path) -> None:
    """The sandbox's Lambda runner searches the function's code before the runtime's SDK, which holds a boto3 too,
    as Lambda searches /var/task before the runtime's bundled SDK."""
    built, code = unpacked(tmp_path, "validate-before-install")
    # Not a lifecycle event: the hook fails before any call.
    result, output = run_in_the_sandbox(code, built["handler"], {})
    assert result["errorType"] == "ValueError"
    (cold_start,) = [line for line in output.splitlines() if '"message": "cold start"' in line]
    logged = json.loads(cold_start.split("\t")[-1])
    assert logged["sdk"] == str(code / "boto3" / "__init__.py")
    assert (logged["boto3"], logged["botocore"]) == (PINS["boto3"], PINS["botocore"])


# The SDK the sandbox's Lambda runtime bundles (requirements/lambda-runtime.txt; make venv installs it).
RUNTIME_PINS = build.pinned_versions(REPO / "requirements" / "lambda-runtime.txt")

# A handler put beside a hook's modules: what a hook importing boto3 would get, and whether the ECS client the hooks
# create (hooks.common.client) knows ListServiceDeployments (hooks/facts.py calls it).
SDK_PROBE = """
import importlib.util
import boto3, botocore
from hooks import common

def handler(event, context):
    return {
        "event": event,
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "sdk": boto3.__file__,
        "list_service_deployments": hasattr(common.client("ecs"), "list_service_deployments"),
        "sees_the_venv": importlib.util.find_spec("yaml") is not None,
    }
"""


def test_a_hook_without_its_own_sdk_gets_the_runtimes_older_one_in_the_sandbox(tmp_path: Path) -> None:
    """As on AWS, whose runtime SDK lags the project's pin: the hook's modules alone (a zip from before the SDK was
    packaged) import the runtime's boto3, whose ECS client has no ListServiceDeployments, so every ECS-native hook
    would fail; the hook's real zip imports its own pinned SDK, which has it. Neither sees the sandbox's venv."""
    built, code = unpacked(tmp_path / "packaged", "validate-before-install")
    alone = tmp_path / "alone" / "task"
    with zipfile.ZipFile(built["path"]) as archive:
        archive.extractall(alone, [name for name in archive.namelist() if name.startswith("hooks/")])
    found = {}
    for name, folder in (("packaged", code), ("alone", alone)):
        (folder / "sdk_probe.py").write_text(SDK_PROBE)
        found[name], _output = run_in_the_sandbox(folder, "sdk_probe.handler", {"probe": name})
        assert found[name]["event"] == {"probe": name}
        assert found[name]["sees_the_venv"] is False

    assert found["alone"]["sdk"] == os.path.join(lambda_runner.RUNTIME_SDK, "boto3", "__init__.py")
    assert (found["alone"]["boto3"], found["alone"]["botocore"]) == (RUNTIME_PINS["boto3"], RUNTIME_PINS["botocore"])
    assert Version(RUNTIME_PINS["botocore"]) < Version(PINS["botocore"])
    assert found["alone"]["list_service_deployments"] is False

    assert found["packaged"]["sdk"] == str(code / "boto3" / "__init__.py")
    assert (found["packaged"]["boto3"], found["packaged"]["botocore"]) == (PINS["boto3"], PINS["botocore"])
    assert found["packaged"]["list_service_deployments"] is True

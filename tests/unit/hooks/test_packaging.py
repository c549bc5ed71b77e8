"""The hook zips: byte-identical from the same sources, holding only what each handler imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hooks import build

RUNTIME_PACKAGES = {"boto3", "botocore"}  # what the Lambda Python runtime provides besides the stdlib


def test_same_sources_give_byte_identical_zips(tmp_path: Path) -> None:
    first = build.build_all(tmp_path / "one")
    second = build.build_all(tmp_path / "two")
    assert [b["sha256"] for b in first] == [b["sha256"] for b in second]
    for built in first:
        name = Path(built["path"]).name
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


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
    (built,) = [b for b in build.build_all(tmp_path) if b["name"] == hook]
    with zipfile.ZipFile(built["path"]) as archive:
        names = archive.namelist()
        assert all(name.startswith("hooks/") and name.endswith(".py") for name in names)
        assert {info.date_time for info in archive.infolist()} == {build.ZIP_EPOCH}
        shipped = {Path(name).stem for name in names}
        imported: set[str] = set()
        for name in names:
            tree = ast.parse(archive.read(name))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module)
                    if node.module == "hooks":
                        imported.update(f"hooks.{alias.name}" for alias in node.names)
    ours = {module.split(".", 1)[1] for module in imported if module.startswith("hooks.")}
    assert ours <= shipped, f"{hook} imports hooks modules it does not ship: {ours - shipped}"
    assert shipped - {"__init__"} <= ours | {build.HOOKS[hook][0]}, f"{hook} ships modules it never imports"
    foreign = {m.split(".")[0] for m in imported} - {"hooks", "__future__"} - RUNTIME_PACKAGES
    assert foreign <= set(sys.stdlib_module_names), f"{hook} needs {foreign - set(sys.stdlib_module_names)}"


@pytest.mark.parametrize("hook", sorted(build.HOOKS))
def test_handler_imports_from_the_zip_alone(tmp_path: Path, hook: str) -> None:
    (built,) = [b for b in build.build_all(tmp_path) if b["name"] == hook]
    module, function = built["handler"].rsplit(".", 1)
    code = (
        f"import sys; sys.path.insert(0, {built['path']!r}); import importlib; "
        f"m = importlib.import_module({module!r}); assert callable(m.{function}); print(m.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(built["path"])

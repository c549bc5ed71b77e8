"""The sandbox is an AWS that knows nothing of the project it serves (sandbox/__init__.py): outside its drivers
(sandbox/drivers/), no module imports the project's code or the drivers, and none names the project; so a mistake of
the project is never reproduced by the emulator it is tested against. And no file of sandbox/ is over 600 lines."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT

SANDBOX = REPO_ROOT / "sandbox"
DRIVERS = SANDBOX / "drivers"
# The project's Python packages (and the drivers, which know them): what the emulator must never import.
PROJECT_PACKAGES = (
    "module_utils",
    "library",
    "hooks",
    "service",
    "filter_plugins",
    "action_plugins",
    "doc_fragments",
    "tests",
    "bench",
    "sandbox.drivers",
)
MAX_LINES = 600


def emulator_files() -> list[Path]:
    return sorted(p for p in SANDBOX.rglob("*.py") if DRIVERS not in p.parents and "__pycache__" not in p.parts)


def project_names() -> list[str]:
    """The project's own names, as it states them: its distribution's name and the images it gives the sandbox
    (pyproject.toml: [project] name, [tool.sandbox.images])."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    images = pyproject.get("tool", {}).get("sandbox", {}).get("images", {})
    return sorted({pyproject["project"]["name"], *(key.split(":")[0].rsplit("/", 1)[-1] for key in images)})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a file, relative ones resolved; and import_module / __import__ of a
    constant name."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def is_project_module(module: str) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in PROJECT_PACKAGES)


def test_the_layout_test_sees_the_emulator_and_the_projects_names() -> None:
    files = {p.relative_to(SANDBOX).as_posix() for p in emulator_files()}
    assert {"aws.py", "ecs/deployments.py", "iam/authority.py", "codedeploy/server.py"} <= files
    assert not any(f.startswith("drivers/") for f in files)
    assert "orders" in project_names()
    assert is_project_module("module_utils.model.ecs")
    assert is_project_module("sandbox.drivers.harness")
    assert not is_project_module("sandbox.ecs.strategies")
    assert not is_project_module("servicequotas")


def test_the_emulator_imports_none_of_the_projects_code() -> None:
    """Outside sandbox/drivers/, no import of module_utils, library, hooks, service, the plugins, tests, bench or the
    drivers: what AWS computes (traffic steps, bake times, hook stages, authorization) the sandbox computes from AWS's
    documentation on its own."""
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}: imports {module}"
        for path in emulator_files()
        for line, module in imported_modules(path)
        if is_project_module(module)
    ]
    assert found == []


def test_the_emulator_does_not_name_the_project() -> None:
    """Outside sandbox/drivers/, no string or comment names the project (its name, its images): what the account
    holds for the project comes from its configuration ([tool.sandbox] of pyproject.toml)."""
    names = re.compile(r"\b(" + "|".join(map(re.escape, project_names())) + r")\b", re.IGNORECASE)
    found = []
    for path in emulator_files():
        for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if token.type in (tokenize.STRING, tokenize.COMMENT) and (match := names.search(token.string)):
                line = token.start[0] + token.string[: match.start()].count("\n")
                found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0)!r}")
    assert found == []


def test_no_file_of_the_sandbox_is_over_600_lines() -> None:
    files = [p for p in SANDBOX.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) > 40
    found = [
        f"{path.relative_to(REPO_ROOT)}: {lines} lines"
        for path in sorted(files)
        if (lines := len(path.read_bytes().splitlines())) > MAX_LINES
    ]
    assert found == [], "split each along a seam of its own"

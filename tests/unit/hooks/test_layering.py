"""hooks/ in layers without an import loop: each module imports only modules of a layer below its own, and every
import is at the top of its module (none inside a function to dodge a cycle).

    common, budgets, build        the plumbing (clients, environment, budget, logging, CheckFailed/Pending, Hook)
    facts, http_probe             what the deployment is; HTTP probes
    codedeploy_event, ecs_event   the event adapters: how each controller's event arrives and is answered
    handler                       `handle`, which picks the adapter by the event's shape
    the checks                    validate_*.py, run_migrations.py: the modules the Lambda handlers name
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys

import pytest

from hooks import build

REPO = build.PACKAGE.parent
CHECKS = {module for module, _event, _extra in build.HOOKS.values()}
ADAPTERS = {"codedeploy_event", "ecs_event"}
LAYERS: list[set[str]] = [
    {"__init__", "common", "budgets", "build"},
    {"facts", "http_probe"},
    ADAPTERS,
    {"handler"},
    CHECKS,
]
# Imports inside a function, allowed only where a module genuinely needs one there (an optional third-party
# package, say), each with the reason: {"module": "why"}. None today.
IMPORTS_INSIDE_FUNCTIONS: dict[str, str] = {}
SOURCES = {path.stem: path for path in sorted(build.PACKAGE.glob("*.py"))}


def hooks_imported(tree: ast.Module) -> set[str]:
    """The hooks modules a module imports, anywhere in it (`import hooks.x`, `from hooks import x`,
    `from hooks.x import y`, `from . import x`, `from .x import y`)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("hooks."))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module != "hooks" and not module.startswith("hooks."):
                continue
            within = module.removeprefix("hooks").lstrip(".") if node.level == 0 else module
            if within:
                found.add(within.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def imports_inside_functions(tree: ast.Module) -> list[int]:
    return [
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]


GRAPH = {name: hooks_imported(ast.parse(path.read_text())) for name, path in SOURCES.items()}


def closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for imported in GRAPH[todo.pop()] - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def test_the_import_graph_among_hooks_modules_is_acyclic() -> None:
    assert set().union(*GRAPH.values()) <= set(GRAPH), "a hooks module imports one that does not exist"
    order = list(graphlib.TopologicalSorter(GRAPH).static_order())  # raises CycleError on a loop
    assert set(order) == set(GRAPH)


def test_every_module_imports_only_from_the_layers_below_its_own() -> None:
    layer = {module: index for index, modules in enumerate(LAYERS) for module in modules}
    assert set(layer) == set(SOURCES), f"place each hooks module in a layer: {set(SOURCES) ^ set(layer)}"
    upward = {
        f"{module} -> {imported}"
        for module, imports in GRAPH.items()
        for imported in imports
        if layer[imported] >= layer[module]
    }
    assert not upward, f"imports from the same or a higher layer: {sorted(upward)}"
    assert GRAPH["common"] == set(), "the plumbing imports nothing from hooks"
    assert GRAPH["facts"] == {"common"}
    assert GRAPH["handler"] >= ADAPTERS
    # The checks reach the adapters only through handle(): a check does not know which controller runs it.
    assert not {module for module in CHECKS if GRAPH[module] & ADAPTERS}
    assert all("handler" in GRAPH[module] for module in CHECKS)


def test_no_import_sits_inside_a_function() -> None:
    found = {
        name: lines
        for name, path in SOURCES.items()
        if (lines := imports_inside_functions(ast.parse(path.read_text())))
    }
    assert set(found) <= set(IMPORTS_INSIDE_FUNCTIONS), f"imports inside functions (module: lines): {found}"


# A fresh interpreter imports one module first (no other import order can hide a loop) and names the hooks
# modules that importing it loaded: exactly those the module imports, directly or not (no hidden dynamic import).
LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m.split(".", 1)[1] for m in sys.modules if m.startswith("hooks."))))
"""


@pytest.mark.parametrize("module", sorted(set(SOURCES) - {"__init__"}))
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-B", "-c", LOADED, f"hooks.{module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {module} | closure(module) - {"__init__"}

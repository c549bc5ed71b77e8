"""Every module in library/ documents itself: `ansible-doc -M library NAME` renders it (its DOCUMENTATION,
EXAMPLES and RETURN parse, and the documented options match the argument spec's names)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

MODULES = sorted(path.stem for path in (REPO_ROOT / "library").glob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders(name: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-M", "library", "--json", name],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f'"{name}"' in result.stdout

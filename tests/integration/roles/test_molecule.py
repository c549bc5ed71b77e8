"""The Molecule scenarios of the roles (molecule/), against the emulator: syntax, prepare, converge,
idempotence, and a verify that reads the resources back through the AWS API."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.conftest import VENV_BIN

SCENARIOS = sorted(path.parent.name for path in (REPO_ROOT / "molecule").glob("*/molecule.yml"))


def test_every_role_is_in_a_scenario() -> None:
    converged = "\n".join((REPO_ROOT / "molecule" / s / "converge.yml").read_text() for s in SCENARIOS)
    roles = sorted(path.name for path in (REPO_ROOT / "roles").iterdir() if path.is_dir())
    assert [role for role in roles if f"- {role}\n" not in converged] == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(aws_env: dict[str, str], scenario: str) -> None:
    env = {**aws_env, "NO_COLOR": "1", "PY_COLORS": "0"}
    # Forget what an earlier run prepared: this emulator is new.
    subprocess.run(
        [str(VENV_BIN / "molecule"), "reset", "--scenario-name", scenario],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    result = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "--scenario-name", scenario],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in output, output[-3000:]

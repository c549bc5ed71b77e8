"""The run the audits read: the sandbox home an end-to-end run left (tests/e2e/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.drivers.harness import Sandbox
from tests.e2e.conftest import sandbox_home, sandbox_settings


class RecordedRun:
    def __init__(self, home: Path):
        self.home = home

    def api_calls(self) -> list[dict]:
        """The API calls both endpoints answered over the run: saved when its sandbox stopped, or, in the same pytest
        session as the scenarios (`pytest tests`), asked of the sandbox still running."""
        saved = self.home / "logs" / "api-calls.json"
        if saved.exists():
            return json.loads(saved.read_text())
        return Sandbox(self.home, **sandbox_settings()).api_calls()


@pytest.fixture(scope="session")
def run() -> RecordedRun:
    home = sandbox_home()
    missing = [name for name in ("api-calls.json", "iam-decisions.jsonl") if not (home / "logs" / name).exists()]
    if missing or not (home / "scenarios.jsonl").exists():
        pytest.fail(
            f"no end-to-end run recorded in {home} (missing {missing or 'scenarios.jsonl'}): run tests/e2e first"
        )
    return RecordedRun(home)

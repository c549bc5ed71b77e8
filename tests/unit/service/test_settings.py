"""Bad configuration stops start-up with a message that says which variable and why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.settings import ConfigurationError, Settings, load_settings
from tests.conftest import REPO_ROOT


def test_defaults_are_the_embedded_sqlite_database() -> None:
    settings = Settings()
    assert settings.sqlalchemy_url.get_backend_name() == "sqlite"
    assert settings.database_password is None


def test_password_comes_from_its_own_secret_and_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    monkeypatch.setenv("DATABASE_PASSWORD", "s3cr%t@pw")
    settings = load_settings()
    assert settings.sqlalchemy_url.password == "s3cr%t@pw"
    assert settings.sqlalchemy_url.drivername == "postgresql+psycopg"
    assert "s3cr" not in settings.safe_database_url
    assert "s3cr" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PORT", "99999", "PORT: Input should be less than or equal to 65535 (got '99999')"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("DRAIN_SECONDS", "-1", "DRAIN_SECONDS: Input should be greater than or equal to 0"),
        ("READINESS_TIMEOUT_SECONDS", "0", "READINESS_TIMEOUT_SECONDS: Input should be greater than 0"),
        ("DATABASE_URL", "mysql://u:hunter2@h/db", "DATABASE_URL: Value error, unsupported database 'mysql'"),
        ("DATABASE_URL", "not a url :: hunter2", "DATABASE_URL: Value error, not a SQLAlchemy database URL"),
        ("READY_DEPENDENCIES", '["redis:6379"]', "READY_DEPENDENCIES: Value error, 'redis:6379' must start"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_bad_settings_stop_the_server_before_it_starts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "http", "DATABASE_URL": "sqlite://"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Invalid configuration:" in result.stderr
    assert "PORT: Input should be a valid integer" in result.stderr
    assert "Fix the environment variables above" in result.stderr

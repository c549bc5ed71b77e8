"""Alembic: the schema the code expects, reversible, idempotent, and a clear failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service import migrate
from service.db import Base
from service.settings import Settings
from tests.conftest import REPO_ROOT


def _tables(settings: Settings) -> set[str]:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_models(migrated_settings: Settings) -> None:
    """Autogenerate finds nothing to do: the migrations describe exactly what the models declare."""
    engine = create_engine(migrated_settings.sqlalchemy_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.postgres
def test_upgrade_downgrade_upgrade_on_postgresql(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url)
    migrate.upgrade(settings)
    assert migrate.current_revision(settings) == migrate.head_revision(settings)
    assert {"items", "alembic_version"} <= _tables(settings)

    migrate.downgrade(settings, "base")
    assert migrate.current_revision(settings) is None
    assert "items" not in _tables(settings)

    migrate.upgrade(settings)
    assert migrate.current_revision(settings) == migrate.head_revision(settings)
    assert "items" in _tables(settings)


def _run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_command_is_idempotent(database_url: str) -> None:
    first = _run_cli("migrate", database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert '"changed": true' in first.stdout
    second = _run_cli("migrate", database_url=database_url)
    assert second.returncode == 0, second.stderr
    assert '"changed": false' in second.stdout
    current = _run_cli("current", database_url=database_url)
    assert current.stdout.strip().splitlines()[-1] == "database: 0001  head: 0001"


def test_migrate_failure_exits_non_zero_with_a_reason(tmp_path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"
    result = _run_cli("migrate", database_url=unreachable)
    assert result.returncode == 1
    assert "Migration to 'head' failed on sqlite:///" in result.stderr
    assert "OperationalError" in result.stderr


@pytest.mark.postgres
def test_migrate_failure_never_prints_the_password(postgres_admin_dsn: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:5432/no_such_database",
            "DATABASE_PASSWORD": "hunter2-secret",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "postgresql+psycopg://nobody:***@127.0.0.1:5432/no_such_database" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_migrate_on_a_database_ahead_of_the_code_is_a_no_op(database_url: str) -> None:
    """Rolling back to an older version: its migrate step must not fail on the newer schema."""
    assert _run_cli("migrate", database_url=database_url).returncode == 0
    engine = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    finally:
        engine.dispose()
    result = _run_cli("migrate", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert '"message": "database is ahead of this version"' in result.stdout
    assert '"database_revision": "0099_from_the_future"' in result.stdout

"""Alembic environment: the database comes from the service's settings, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from service import models  # noqa: F401  (registers the tables on Base.metadata)
from service.db import Base, create_db_engine
from service.settings import get_settings

config = context.config
settings = config.attributes.get("settings") or get_settings()
target_metadata = Base.metadata
MIGRATION_LOCK_KEY = 0x5E4_1CE  # any constant shared by every version of the service


def run_migrations_offline() -> None:
    context.configure(
        url=settings.sqlalchemy_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things: batch mode recreates tables there.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # A retried hook may start a second migration task while the first still runs:
                    # they take turns, and the second finds the schema already at head.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

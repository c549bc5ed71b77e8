"""The database engine (one per process) and the per-request session dependency."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import DateTime, Engine, MetaData, create_engine, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from service.settings import Settings

# Constraint names that are stable across databases, so migrations can drop what they created.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    # The database sets both timestamps: fetch them in the INSERT's or UPDATE's own RETURNING clause,
    # not with a second SELECT (a refresh) after the commit.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012  (SQLAlchemy's declarative attribute)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def create_db_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        # Bound connection set-up so a database that does not answer cannot hold a worker thread
        # much longer than the readiness timeout (libpq takes whole seconds, at least 2).
        connect_args["connect_timeout"] = max(2, math.ceil(settings.readiness_timeout_seconds))
        connect_args["application_name"] = f"service-{settings.app_version}"[:63]
    elif url.get_backend_name() == "sqlite":
        # FastAPI runs sync routes in a thread pool: one connection may serve several threads.
        connect_args["check_same_thread"] = False
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def iter_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session

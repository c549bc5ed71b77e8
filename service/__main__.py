"""`python -m service serve | migrate | current`: the commands a task definition runs."""

from __future__ import annotations

import argparse
import logging
import sys

from service.logging_config import configure_logging
from service.settings import ConfigurationError, load_settings

log = logging.getLogger("service.cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP server (drains on SIGTERM)")
    migrate = commands.add_parser("migrate", help="upgrade the database schema (idempotent)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    commands.add_parser("current", help="print the database's schema revision and the code's head")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.app_version, settings.deployment_id)

    if args.command == "serve":
        from service.server import serve  # noqa: PLC0415  (imports uvicorn only for this command)

        serve(settings)
        return 0

    from service import migrate as migrations  # noqa: PLC0415  (imports Alembic only when needed)

    if args.command == "current":
        print(f"database: {migrations.current_revision(settings)}  head: {migrations.head_revision(settings)}")
        return 0

    try:
        before = migrations.current_revision(settings)
        if before is not None and not migrations.is_known(settings, before):
            # Rolling back to an older version: the schema is ahead of this code. Expand/contract keeps the
            # older version compatible with it (docs/migrations.md), so there is nothing to do, and failing
            # here would block the rollback.
            log.warning(
                "database is ahead of this version",
                extra={"database_revision": before, "head": migrations.head_revision(settings)},
            )
            return 0
        migrations.upgrade(settings, args.revision)
        after = migrations.current_revision(settings)
    except Exception as exc:
        # The migration task's exit code is what the BeforeAllowTraffic hook reads: say why, exit 1.
        log.exception("migration failed", extra={"database": settings.safe_database_url})
        print(
            f"Migration to {args.revision!r} failed on {settings.safe_database_url}: "
            f"{type(exc).__name__}: {exc}".splitlines()[0],
            file=sys.stderr,
        )
        return 1
    log.info("migrated", extra={"from_revision": before, "to_revision": after, "changed": before != after})
    return 0


if __name__ == "__main__":
    sys.exit(main())

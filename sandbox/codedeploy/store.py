"""CodeDeploy's state in SQLite: every resource is one JSON document, so a restart of the service loses
nothing and a deployment can be resumed where it was (state.py writes deployments, lifecycle.py resumes them)."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS resource (
    kind TEXT NOT NULL,          -- application | config | group | deployment | hook
    key TEXT NOT NULL,           -- name, "app/group", deployment id, hook execution id
    parent TEXT,                 -- application of a group; "app/group" of a deployment; deployment of a hook
    body TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    UNIQUE (kind, key)
);
CREATE TABLE IF NOT EXISTS tag (arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (arn, key));
"""


class Store:
    def __init__(self, path: Path):
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0  # transactions open in the thread holding the lock

    @contextmanager
    def transaction(self):
        """One SQLite transaction; one opened inside another (same thread) joins it, committed by the outer."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._db.execute("COMMIT")

    def get(self, kind: str, key: str) -> dict | None:
        with self.lock:
            row = self._db.execute("SELECT body FROM resource WHERE kind=? AND key=?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, key: str, body: dict, parent: str | None = None) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO resource (kind, key, parent, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET body=excluded.body, parent=excluded.parent",
                (kind, key, parent, json.dumps(body)),
            )

    def delete(self, kind: str, key: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM resource WHERE kind=? AND key=?", (kind, key))

    def all(self, kind: str, parent: str | None = None) -> list[dict]:
        """In creation order."""
        query, args = "SELECT body FROM resource WHERE kind=?", [kind]
        if parent is not None:
            query += " AND parent=?"
            args.append(parent)
        with self.lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def tags(self, arn: str) -> list[dict]:
        with self.lock:
            rows = self._db.execute("SELECT key, value FROM tag WHERE arn=? ORDER BY key", (arn,)).fetchall()
        return [{"Key": key, "Value": value} for key, value in rows]

    def tag(self, arn: str, tags: list[dict]) -> None:
        with self.lock:
            for tag in tags:
                self._db.execute(
                    "INSERT INTO tag VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value=excluded.value",
                    (arn, tag["Key"], tag.get("Value", "")),
                )

    def untag(self, arn: str, keys: list[str] | None = None) -> None:
        with self.lock:
            if keys is None:
                self._db.execute("DELETE FROM tag WHERE arn=?", (arn,))
            for key in keys or []:
                self._db.execute("DELETE FROM tag WHERE arn=? AND key=?", (arn, key))

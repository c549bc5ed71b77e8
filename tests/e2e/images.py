"""The service versions the scenarios deploy beside the real one: the application changed the way a scenario needs."""

from __future__ import annotations

import shutil
from pathlib import Path

from sandbox.drivers.harness import REPO


def app_with_a_failing_migration(folder: Path) -> Path:
    """The application with one more migration, which cannot apply: a NOT NULL column without a default."""
    app = folder / "app"
    shutil.copytree(REPO / "service", app / "service", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "service" / "migrations" / "versions" / "0002_broken.py").write_text(
        '"""A migration that fails: a NOT NULL column without a default on a table with rows."""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'revision = "0002"\ndown_revision = "0001"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade():\n"
        '    op.add_column("items", sa.Column("price", sa.Integer(), nullable=False))\n\n\n'
        "def downgrade():\n"
        '    op.drop_column("items", "price")\n'
    )
    return app

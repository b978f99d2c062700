"""Schema migrations for the prediction log (Alembic, scripts shipped in `migrations/`).

`upgrade` is what a `flask db upgrade` command and the first start run; `is_at_head` is the check
each worker makes at start, so a worker never writes into a schema it does not know.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .database import LogDatabase

SCRIPTS = Path(__file__).with_name("migrations")
ADVISORY_LOCK = 0x506F6469756D  # "Podium": the key every instance locks while it upgrades


def _config(conn: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The newest revision the shipped scripts know."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    assert len(heads) == 1, f"migration scripts must have one head, found {heads}"
    return heads[0]


def current(db: LogDatabase) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_at_head(db: LogDatabase) -> bool:
    return current(db) == head()


def upgrade(db: LogDatabase, revision: str = "head") -> str | None:
    """Bring the schema to `revision` in one transaction (existing rows stay); returns the new one."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":  # instances sharing one database upgrade one at a time
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        command.upgrade(_config(conn), revision)
    return current(db)


def downgrade(db: LogDatabase, revision: str) -> str | None:
    with db.engine.begin() as conn:
        command.downgrade(_config(conn), revision)
    return current(db)

"""Open the prediction log's database (SQLite in WAL mode by default, PostgreSQL when a URL is set)
and keep track of what went wrong, so a database that is down, full or locked costs log rows, never
a prediction, and `/ops` can say why.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from webapp.serving.errors import ServingError

log = logging.getLogger(__name__)
DEFAULT_FILE = "podium.sqlite3"  # one database for Podium's shared state (the log first)
T = TypeVar("T")


@dataclass
class Health:
    """The last error the database gave, when it began failing, and how often it failed."""

    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    down_since: float | None = None
    last_ok_at: float | None = None

    def snapshot(self) -> dict[str, Any]:
        return {"ok": self.down_since is None, "failures": self.failures, "last_error": self.last_error,
                "last_error_at": self.last_error_at, "down_since": self.down_since,
                "last_ok_at": self.last_ok_at}


def describe_error(exc: BaseException) -> str:
    """One short line naming the database's complaint, without SQL or parameters (they hold data)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first[:200]}"


class LogDatabase:
    """An engine plus its health; `attempt` runs work and records failures instead of raising."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.health = Health()
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def attempt(self, work: Callable[[sa.Connection], T]) -> tuple[bool, T | None]:
        """Run `work` in one transaction; on a database error note it and return (False, None)."""
        try:
            with self.engine.begin() as conn:
                result = work(conn)
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return False, None
        self._succeeded()
        return True, result

    def _failed(self, exc: BaseException) -> None:
        message = describe_error(exc)
        with self._lock:
            h = self.health
            if h.down_since is None:
                log.warning("Prediction log database failing, log rows are dropped: %s", message)
                h.down_since = time.time()
            h.failures += 1
            h.last_error, h.last_error_at = message, time.time()

    def _succeeded(self) -> None:
        with self._lock:
            h = self.health
            if h.down_since is not None:
                log.info("Prediction log database works again after %.1f s", time.time() - h.down_since)
                h.down_since = None
            h.last_ok_at = time.time()

    def dispose(self) -> None:
        self.engine.dispose()


def default_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / DEFAULT_FILE}"


def open_database(url: str | None, instance_path: str | Path, busy_timeout_s: float = 2.0,
                  check_file: bool = True) -> LogDatabase:
    """The log's database: `url` when given (PostgreSQL), else a SQLite file in the instance folder.

    A SQLite file that is not a readable database is moved aside (with a log line) and a new one
    started; pass `check_file=False` in processes that are not the one preparing the database.
    """
    parsed = make_url(url or default_url(instance_path))
    if parsed.drivername in ("postgresql", "postgres"):  # a plain URL means the driver installed here
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=2,
                                  connect_args={"connect_timeout": 5})
        return LogDatabase(engine)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if check_file:
            move_aside_if_corrupt(Path(parsed.database))
    engine = sa.create_engine(parsed, connect_args={"timeout": busy_timeout_s})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return LogDatabase(engine)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses at most the last commit
    cursor.close()


def move_aside_if_corrupt(path: Path) -> Path | None:
    """Rename a SQLite file that fails its integrity check; returns where it went, or None."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    problem = _sqlite_problem(path)
    if problem is None:
        return None
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        path.rename(aside)
    except FileNotFoundError:  # another process moved it first
        return None
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(aside.with_name(aside.name + suffix))
    log.error("Prediction log %s is corrupt (%s); moved it to %s and started a new one",
              path, problem, aside)
    return aside


def _sqlite_problem(path: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return None  # busy, not broken
        return str(exc)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if verdict == "ok" else str(verdict)


def insert_ignoring_duplicates(db: LogDatabase, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on both databases (a request id reused by a client)."""
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


class LogUnavailable(ServingError):
    """The prediction log's database cannot answer now (down, locked or full); retry later."""

    status = 503
    code = "UNAVAILABLE"


def read(db: LogDatabase, work: Callable[[sa.Connection], T]) -> T:
    """Run a read (or a caller-facing write) now; raises LogUnavailable when the database fails."""
    ok, result = db.attempt(work)
    if not ok:
        raise LogUnavailable(f"The prediction log is unavailable: {db.health.last_error}")
    return result  # type: ignore[return-value]

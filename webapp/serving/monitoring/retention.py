"""Keep the log bounded: delete rows older than an age and beyond a row count, oldest first.

Deletes run in chunks (short transactions, so SQLite's writer is never held for long) and take the
ground truth of deleted predictions with them. Run it from the background job.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from .database import LogDatabase, read
from .tables import ground_truth, predictions

CHUNK = 5000


def _delete_ids_upto(conn: sa.Connection, last_id: int | None = None, before: float | None = None) -> int:
    p = predictions.c
    pick = sa.select(p.id).order_by(p.id).limit(CHUNK)
    if last_id is not None:
        pick = pick.where(p.id <= last_id)
    if before is not None:
        pick = pick.where(p.logged_at < before)
    ids = [row[0] for row in conn.execute(pick)]
    if ids:
        conn.execute(predictions.delete().where(p.id.in_(ids)))
    return len(ids)


def _orphaned_truth(conn: sa.Connection) -> int:
    p, g = predictions.c, ground_truth.c
    logged = sa.select(p.id).where(p.request_id == g.request_id, p.row_index == g.row_index).exists()
    return conn.execute(ground_truth.delete().where(~logged)).rowcount or 0


def _newest_dropped_id(conn: sa.Connection, keep: int) -> int | None:
    p = predictions.c
    return conn.execute(sa.select(p.id).order_by(p.id.desc()).offset(keep).limit(1)).scalar()


def prune(db: LogDatabase, max_age_s: float | None = None, max_rows: int | None = None,
          now: float | None = None) -> dict[str, int]:
    """Delete what is older than `max_age_s` and beyond the newest `max_rows`; returns the counts."""
    deleted = {"by_age": 0, "by_rows": 0, "truth": 0}
    if max_age_s is not None:
        cutoff = (now if now is not None else time.time()) - max_age_s
        while n := read(db, lambda conn: _delete_ids_upto(conn, before=cutoff)):
            deleted["by_age"] += n
    if max_rows is not None:
        last = read(db, lambda conn: _newest_dropped_id(conn, max_rows))
        while last is not None and (n := read(db, lambda conn: _delete_ids_upto(conn, last_id=last))):
            deleted["by_rows"] += n
    if deleted["by_age"] or deleted["by_rows"]:
        deleted["truth"] = read(db, _orphaned_truth)
    return deleted

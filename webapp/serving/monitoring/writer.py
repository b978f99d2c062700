"""The prediction log's writer: `submit` on the request path, batched inserts on a daemon thread
(rows encoded in bulk by `encode`, inserted many to a statement by `bulk`: the thread shares the
worker's GIL, so it must spend little per row).

`submit` costs a sampling check and a deque append; it never blocks and never raises. When the
bounded queue is full the record is dropped and counted; when the database fails, the batch is
dropped and counted and the next batch tries again, so writes resume by themselves.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from . import metrics
from .bulk import insert_values
from .database import LogDatabase, insert_ignoring_duplicates
from .encode import Encoded, encode, stretches
from .privacy import Protector
from .records import PredictionRecord, Sampler
from .rows import version_row
from .tables import model_versions

log = logging.getLogger(__name__)
# Rows encoded in one stretch. The writer shares the GIL with the requests, and a request that
# wants it waits until the writer lets go (by itself, or forced after the 5 ms switch interval):
# a round of 1000 rows encoded in one go held it for 2-4 ms. After each part (~64 rows, ~0.15 ms)
# the writer sleeps for 0 s, letting a request in (`scripts/bench/log_gil.py` measures the waits).
# The inserts need no such pause: SQLite lets go of the GIL for every 32-row statement.
STRETCH = 64


class PredictionLog:
    """One per worker process. Call `start()` after the fork and `close()` at exit."""

    def __init__(self, db: LogDatabase, protector: Protector, sampler: Sampler | None = None,
                 max_queue: int = 10_000, batch_size: int = 500, interval_s: float = 1.0) -> None:
        self.db, self.protector = db, protector
        self.sampler = sampler or Sampler()
        self.max_queue, self.batch_size, self.interval_s = max_queue, batch_size, interval_s
        self._queue: collections.deque[PredictionRecord] = collections.deque()
        self._wake = threading.Event()
        self._closing = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self._counts_lock = threading.Lock()
        self.counts = {"written_rows": 0, "queue_full": 0, "database": 0, "invalid": 0}
        self._known_versions: set[tuple[str, int]] = set()

    # -- the request path ---------------------------------------------------------------------
    def submit(self, record: PredictionRecord) -> bool:
        """Queue a record if its model's sampling keeps it; False when sampled out or dropped."""
        rate = self.sampler.rate(record.model)
        if rate < 1.0 and not self._sampled(record):
            return False
        queue = self._queue
        if len(queue) >= self.max_queue or self._closing:
            self._dropped("queue_full", 1)
            return False
        record.sample_rate = rate
        queue.append(record)
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def _sampled(self, record: PredictionRecord) -> bool:
        """Whether a record stays in the sample; one with an id per row keeps only its kept rows."""
        if record.row_ids is None:
            return self.sampler.keep(record.request_id, record.model)
        kept = [i for i, rid in enumerate(record.row_ids) if self.sampler.keep(rid, record.model)]
        if not kept:
            return False
        if len(kept) < len(record.row_ids):
            record.row_ids, record.kept_rows = [record.row_ids[i] for i in kept], kept
            record.inputs = record.inputs[kept] if record.inputs is not None else None
            record.outputs = record.outputs[kept] if record.outputs is not None else None
        return True

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="podium-prediction-log", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or dropped); True if it was in time."""
        if self._thread is None:  # not started: nothing will drain
            return not self._queue
        deadline = time.monotonic() + timeout
        while self._queue or self._busy:
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread; later submits are dropped and counted."""
        self.flush(timeout)
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        """Figures for `/ops`: queue, drops by reason, lag, and the database's last error."""
        with self._counts_lock:
            counts = dict(self.counts)
        written = counts.pop("written_rows")
        return {"queued": len(self._queue), "max_queue": self.max_queue, "written_rows": written,
                "dropped": counts, "lag_seconds": round(self._lag(), 3),
                "default_sample_rate": self.sampler.default_rate, "sample_rates": dict(self.sampler.rates),
                "database": {"dialect": self.db.dialect, **self.db.health.snapshot()}}

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        while not (self._closing and not self._queue):
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._busy = True
            try:
                self._drain()
            except Exception:  # never let the thread die: the next round tries again
                log.exception("Prediction log writer failed a round")
            finally:
                self._busy = False
                metrics.log_state(len(self._queue), self._lag(), self.db.health.down_since is None)

    def _lag(self) -> float:
        queue = self._queue
        try:
            return max(0.0, time.time() - queue[0].logged_at) if queue else 0.0
        except IndexError:  # emptied meanwhile
            return 0.0

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            batch = [queue.popleft() for _ in range(min(self.batch_size, len(queue)))]
            self._write(batch)

    def _write(self, batch: list[PredictionRecord]) -> None:
        encoded = Encoded()
        for records in stretches(batch, STRETCH):  # the GIL let go between parts: see STRETCH
            encode(records, self.protector, self._invalid, encoded)
            time.sleep(0)
        if not encoded.rows:
            return
        versions = self._new_versions(batch)
        ok, _ = self.db.attempt(lambda conn: self._insert(conn, encoded, versions))
        if ok:
            self._known_versions.update((v["model"], v["version"]) for v in versions)
            with self._counts_lock:
                self.counts["written_rows"] += encoded.rows
            metrics.log_written(encoded.rows)
        else:
            self._dropped("database", encoded.requests)

    def _new_versions(self, batch: list[PredictionRecord]) -> list[dict]:
        """Rows for the versions this writer has not recorded yet (one each)."""
        found: dict[tuple[str, int], dict] = {}
        for record in batch:
            spec = record.spec
            if spec is None:
                continue
            key = (spec.name, spec.version)
            if key not in self._known_versions and key not in found:
                found[key] = version_row(spec, record.logged_at)
        return list(found.values())

    def _insert(self, conn: sa.Connection, encoded: Encoded, versions: list[dict]) -> None:
        if versions:
            conn.execute(insert_ignoring_duplicates(self.db, model_versions), versions)
        insert_values(conn, encoded.values, encoded.rows)  # SQLite lets go of the GIL per statement

    def _invalid(self, record: PredictionRecord, exc: Exception) -> None:
        log.warning("Dropped a prediction log record of %s: %s", record.model, exc)
        self._dropped("invalid", 1)

    def _dropped(self, reason: str, records: int) -> None:
        with self._counts_lock:
            self.counts[reason] += records
        metrics.log_dropped(reason, records)

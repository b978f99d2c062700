"""CPU per logged row, in process: iris records pushed through the real PredictionLog (its own
writer thread) into a real SQLite file, or PostgreSQL when a URL is given. Reports process CPU time
(submit on this thread + the writer's encoding, batching and inserts) per row, the writer thread's
own CPU per row, and the writer's CPU per row when it is handed batches of a fixed size; each the
best of several repeats. Run: .venv/bin/python -m scripts.bench.log_writer [database-url]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time

import numpy as np

from scripts.bench.log_submit import SPEC
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import PredictionRecord, Sampler
from webapp.serving.monitoring.writer import PredictionLog

ROWS, REPEATS = 20_000, 5
X = np.array([[5.1, 3.5, 1.4, 0.2]], np.float32)


def records(tag: str, n: int) -> list[PredictionRecord]:
    """n one-row iris answers, each with its own arrays as a request would hand them over."""
    return [PredictionRecord(f"{tag}-{i:032x}", "iris", 1, SPEC, X.copy(),
                             np.array([[0.1, 0.7, 0.2]], np.float32), 0.001, chosen_by="split",
                             client_request_id=f"client-{i}", source="v1") for i in range(n)]


class WriterClock:
    """The writer thread's CPU time, read on that thread around each round."""

    def __init__(self, plog: PredictionLog) -> None:
        self.seconds, drain = 0.0, plog._drain

        def timed() -> None:
            started = time.thread_time()
            drain()
            self.seconds += time.thread_time() - started
        plog._drain = timed  # type: ignore[method-assign]


def through_the_writer(db: database.LogDatabase, tag: str) -> tuple[float, float]:
    """(process CPU µs per row, writer thread CPU µs per row) for ROWS records, submit to flush."""
    batch = records(tag, ROWS)
    plog = PredictionLog(db, Protector(b"k" * 32), Sampler(), max_queue=ROWS * 2)
    clock = WriterClock(plog)
    plog.start()
    started = time.process_time()
    for i in range(0, ROWS, 250):  # about what a busy worker queues between two rounds
        for record in batch[i:i + 250]:
            plog.submit(record)
        time.sleep(0.002)
    assert plog.flush(120), "the writer did not keep up"
    spent = time.process_time() - started
    plog.close()
    assert plog.stats()["written_rows"] == ROWS, plog.stats()
    return spent / ROWS * 1e6, clock.seconds / ROWS * 1e6


def fixed_batches(db: database.LogDatabase, tag: str, size: int) -> float:
    """Writer CPU µs per row when every round writes `size` records (on this thread)."""
    batch, plog = records(tag, ROWS), PredictionLog(db, Protector(b"k" * 32), Sampler())
    started = time.thread_time()
    for i in range(0, ROWS, size):
        plog._write(batch[i:i + size])
    return (time.thread_time() - started) / ROWS * 1e6


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    db = database.open_database(url, tempfile.mkdtemp(prefix="log-writer-"))
    migrate.upgrade(db)
    run = f"{time.time():.0f}-{threading.get_native_id()}"
    through = [through_the_writer(db, f"{run}-w{r}") for r in range(REPEATS)]
    print(f"database: {db.dialect}; {ROWS:,} one-row iris records per repeat, best of {REPEATS}\n")
    print("| measured | CPU µs per row |\n|---|---|")
    print(f"| submit + writer, whole process | {min(t[0] for t in through):.1f} |")
    print(f"| the writer thread alone | {min(t[1] for t in through):.1f} |")
    for size in (1, 32, 250):
        best = min(fixed_batches(db, f"{run}-b{size}-{r}", size) for r in range(REPEATS))
        print(f"| writer, rounds of {size} records | {best:.1f} |")
    db.dispose()


if __name__ == "__main__":
    main()

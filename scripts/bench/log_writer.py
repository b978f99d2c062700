"""CPU per logged row, in process: iris answers pushed through the real PredictionLog (its own
writer thread) into a real SQLite file (or the PostgreSQL database a URL names) that already holds
`--prefill` rows, as a server's log does after a while. Prints, best of several repeats: process CPU
per row (submit on this thread plus the writer's encoding, batching and inserts), the writer
thread's share, and both again with random uuid4 request ids (what Podium used before its ids
became time-ordered UUIDv7s). Run: .venv/bin/python -m scripts.bench.log_writer [--url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable

import numpy as np

from scripts.bench.log_submit import SPEC
from webapp.logs import new_request_id
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import PredictionRecord, Sampler
from webapp.serving.monitoring.writer import PredictionLog

X, P = np.array([[5.1, 3.5, 1.4, 0.2]], np.float32), np.array([[0.1, 0.7, 0.2]], np.float32)
IDS: dict[str, Callable[[], str]] = {"server ids (UUIDv7)": new_request_id,
                                     "random ids (uuid4)": lambda: uuid.uuid4().hex}


def records(n: int, ids: Callable[[], str]) -> list[PredictionRecord]:
    """n one-row iris answers, each with its own arrays, as requests hand them over."""
    return [PredictionRecord(ids(), "iris", 1, SPEC, X.copy(), P.copy(), 0.001, chosen_by="split",
                             client_request_id=f"client-{i}", source="v1") for i in range(n)]


def timed_writer(plog: PredictionLog) -> list[float]:
    """Add the writer thread's own CPU seconds (read on that thread) to the returned list."""
    spent, drain = [0.0], plog._drain

    def timed() -> None:
        started = time.thread_time()
        drain()
        spent[0] += time.thread_time() - started
    plog._drain = timed  # type: ignore[method-assign]
    return spent


def push(db: database.LogDatabase, batch: list[PredictionRecord]) -> tuple[float, float]:
    """(process CPU µs per row, writer thread CPU µs per row) from the first submit to the flush."""
    plog = PredictionLog(db, Protector(b"k" * 32), Sampler(), max_queue=len(batch) * 2)
    writer = timed_writer(plog)
    plog.start()
    started = time.process_time()
    for i in range(0, len(batch), 250):  # about what a busy worker queues between two rounds
        for record in batch[i:i + 250]:
            plog.submit(record)
        time.sleep(0.002)
    assert plog.flush(300), "the writer did not keep up"
    spent = time.process_time() - started
    plog.close()
    assert plog.stats()["written_rows"] == len(batch), plog.stats()
    return spent / len(batch) * 1e6, writer[0] / len(batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--prefill", type=int, default=200_000, help="rows in the log before measuring")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per repeat")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.rows:,} one-row iris answers per repeat, best of {args.repeat}\n")
    print("| request ids | database | rows before | process CPU µs/row | writer thread CPU µs/row |")
    print("|---|---|---|---|---|")
    for name, ids in IDS.items():
        db = database.open_database(args.url, tempfile.mkdtemp(prefix="log-writer-"))
        migrate.upgrade(db)
        for start in range(0, args.prefill, 50_000):
            push(db, records(min(50_000, args.prefill - start), ids))
        figures = [push(db, records(args.rows, ids)) for _ in range(args.repeat)]
        print(f"| {name} | {db.dialect} | {args.prefill:,} | {min(f[0] for f in figures):.1f} | "
              f"{min(f[1] for f in figures):.1f} |")
        db.dispose()


if __name__ == "__main__":
    main()

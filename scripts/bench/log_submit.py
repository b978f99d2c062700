"""Cost of PredictionLog.submit on the caller's thread (record creation measured apart), and the
writer's throughput into SQLite. Run: .venv/bin/python -m scripts.bench.log_submit
"""

from __future__ import annotations

import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

from webapp.serving.models.spec import parse_manifest
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import PredictionRecord, Sampler
from webapp.serving.monitoring.writer import PredictionLog

N = 200_000
SPEC = parse_manifest({"framework": "sklearn", "artifact": "model.skops", "task": "classification",
                       "inputs": {"features": ["a", "b", "c", "d"]}, "outputs": {"labels": ["x", "y", "z"]}},
                      "iris", 1, Path("."))
X, P = np.ones((1, 4), np.float32), np.array([[0.1, 0.7, 0.2]], np.float32)


def record(request_id: str) -> PredictionRecord:
    return PredictionRecord(request_id, "iris", 1, SPEC, X, P, 0.001, chosen_by="split", source="v1")


def per_call_us(log: PredictionLog, records: list[PredictionRecord], number: int) -> float:
    ids = iter(range(number))
    return timeit.timeit(lambda: log.submit(records[next(ids) % len(records)]), number=number) / number * 1e6


def main() -> None:
    db = database.open_database(None, tempfile.mkdtemp())
    migrate.upgrade(db)
    records = [record(f"{i:032x}") for i in range(1000)]
    print(f"record creation: {timeit.timeit(lambda: record('r'), number=N) / N * 1e6:.2f} us")
    for label, sampler in [("rate 1.0", Sampler()), ("rate 0.1", Sampler(rates={"iris": 0.1}))]:
        idle = PredictionLog(db, Protector(b"k" * 32), sampler, max_queue=N * 2)  # not started
        print(f"submit, {label}: {per_call_us(idle, records, N):.2f} us")
    full = PredictionLog(db, Protector(b"k" * 32), Sampler(), max_queue=0)
    print(f"submit, queue full (drop + count): {per_call_us(full, records, 20_000):.2f} us")
    log = PredictionLog(db, Protector(b"k" * 32), Sampler(), max_queue=100_000, interval_s=0.05)
    log.start()
    started = time.perf_counter()
    for k in range(50_000):
        log.submit(record(f"w{k}"))
    log.flush(120)
    rate = 50_000 / (time.perf_counter() - started)
    print(f"writer throughput (SQLite, one thread): {rate:.0f} rows/s, dropped {log.stats()['dropped']}")


if __name__ == "__main__":
    main()

"""How long the prediction log's writer keeps another thread waiting for the GIL, in process: rounds
of one-row iris answers written on this thread (as the writer thread does) into a real SQLite file,
while a probe thread, standing in for a request, sleeps 0.1 ms in a loop and notes how much later
than that it got to run again. Prints the probe's waits during the rounds beside those between
them (what the machine itself adds), and its turns per second of writing.

    .venv/bin/python -m scripts.bench.log_gil [--rows 1000] [--rounds 20] [--switch-ms 5]

`--switch-ms` sets the interpreter's switch interval (5 ms by default: after that long a waiting
thread forces the holder to let go); a longer one shows the writer's own stretches undiluted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time

from scripts.bench.log_writer import records
from webapp.logs import new_request_id
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import Sampler
from webapp.serving.monitoring.writer import PredictionLog

NAP = 0.0001


def figures(waits: list[float], seconds: float) -> str:
    cuts = statistics.quantiles(waits, n=100)
    return (f"{cuts[49] * 1000:.2f} | {cuts[98] * 1000:.2f} | {max(waits) * 1000:.2f} | "
            f"{sum(w > 0.001 for w in waits)} | {len(waits) / seconds:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows per round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--switch-ms", type=float, default=5.0)
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_ms / 1000)
    db = database.open_database(None, tempfile.mkdtemp(prefix="log-gil-"))
    migrate.upgrade(db)
    plog = PredictionLog(db, Protector(b"k" * 32), Sampler())
    plog._write(records(args.rows, new_request_id))  # the statements prepared, the versions known
    waits: dict[bool, list[float]] = {True: [], False: []}
    seconds = {True: 0.0, False: 0.0}
    writing, stop = [False], threading.Event()

    def probe() -> None:
        while not stop.is_set():
            during, started = writing[0], time.perf_counter()
            time.sleep(NAP)
            if writing[0] == during:  # a wait that straddles a round's start or end counts nowhere
                waits[during].append(time.perf_counter() - started - NAP)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    for _ in range(args.rounds):
        batch = records(args.rows, new_request_id)
        started, writing[0] = time.perf_counter(), True
        plog._write(batch)
        writing[0] = False
        seconds[True] += time.perf_counter() - started
        started = time.perf_counter()
        time.sleep(0.02)
        seconds[False] += time.perf_counter() - started
    stop.set()
    thread.join()
    db.dispose()
    print(f"{args.rounds} rounds of {args.rows} rows, switch interval {args.switch_ms} ms\n")
    print("| probe thread | wait p50 ms | p99 ms | max ms | waits over 1 ms | turns per s |\n"
          "|---|---|---|---|---|---|")
    print(f"| during the writer's rounds | {figures(waits[True], seconds[True])} |")
    print(f"| between rounds (the machine) | {figures(waits[False], seconds[False])} |")


if __name__ == "__main__":
    main()

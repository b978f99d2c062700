"""What the prediction log adds to one iris v1 request, in process: Podium with MONITORING on
(every record kept) beside the same app with MONITORING off, runs interleaved in one process.

CPU: the log is flushed inside each timed run, so the writer thread's whole share is in the process
figure; the request thread's figure is what building and queueing a record costs. Latency: each
request's wall time in a row of requests, as one connection sees them while the writer wakes every
second; p99 against p50 shows how long the writer keeps a request waiting for the GIL. The figures
of a busy machine are blurred; compare on and off of the same run.

    .venv/bin/python -m scripts.bench.log_request STORE [--calls 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from flask import Flask

from scripts.bench.request_path import call, cases, podium


def timed(app: Flask, env: dict, body: bytes, calls: int, latencies: list[float]) -> tuple[float, float]:
    """(request thread CPU µs, process CPU µs) per request, the log flushed before the end; each
    request's wall ms is added to `latencies`."""
    thread, process = time.thread_time_ns(), time.process_time_ns()
    clock = time.perf_counter
    for _ in range(calls):
        started = clock()
        call(app, env, body)
        latencies.append((clock() - started) * 1000)
    watch = app.extensions.get("podium.monitoring")
    if watch is not None:
        watch.log.flush()
    return ((time.thread_time_ns() - thread) / calls / 1000,
            (time.process_time_ns() - process) / calls / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _, env, body = cases(Path(args.store), "")["iris v1 token"]
    runs: dict[str, tuple[Flask, dict]] = {}
    for name, on in (("log off", False), ("log on (100 %)", True)):
        app, token = podium(args.store, Path(tempfile.mkdtemp(prefix="log-request-")), monitoring=on)
        runs[name] = app, dict(env, HTTP_AUTHORIZATION=f"Bearer {token}")
    best = {name: [float("inf")] * 2 for name in runs}
    latencies: dict[str, list[float]] = {name: [] for name in runs}
    try:
        for app, app_env in runs.values():
            timed(app, app_env, body, args.calls // 5, [])  # warm up
        for _ in range(args.repeats):  # interleaved, so the machine's drift hits both
            for name, (app, app_env) in runs.items():
                figures = timed(app, app_env, body, args.calls, latencies[name])
                best[name] = [min(a, b) for a, b in zip(best[name], figures, strict=True)]
    finally:
        runs["log on (100 %)"][0].extensions["podium.monitoring"].close()
    print(f"| iris v1 token, min of {args.repeats} × {args.calls} | request thread CPU µs | "
          "process CPU µs | p50 ms | p99 ms | p99/p50 | max ms |\n|---|---|---|---|---|---|---|")
    for name, (thread, process) in best.items():
        cuts = statistics.quantiles(latencies[name], n=100)
        print(f"| {name} | {thread:.1f} | {process:.1f} | {cuts[49]:.3f} | {cuts[98]:.3f} | "
              f"{cuts[98] / cuts[49]:.2f} | {max(latencies[name]):.1f} |")
    (_, off), (_, on) = best.values()
    print(f"\nthe log's cost: {on - off:.1f} µs of process CPU per request, {(on - off) / off:.1%}")


if __name__ == "__main__":
    main()

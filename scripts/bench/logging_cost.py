"""What the prediction log costs a real gunicorn Podium: iris throughput with logging off against
logging at 100% sampling (the two started back to back, several times, so a shared machine's drift
hits both), and worker RSS over a long run at 100% sampling. Run through `scripts/bench/run`:

    scripts/bench/run --only logging --concurrency 32 --seconds 10 --repeat 5
    scripts/bench/run --only rss --minutes 5
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from scripts.bench.pairs import Mode, cost_table, levels, podium_env, run_modes, runs_table

MODES = {"off": Mode({"PODIUM_MONITORING": "false"}),
         "on (100%)": Mode({"PODIUM_MONITORING": "true", "PODIUM_LOG_SAMPLE_RATE": "1.0"})}


def run_logging(bench, tmp: Path, store: Path, cases: dict, gunicorn: list[str], args) -> str:
    """`--repeat` pairs of runs (off, then on) of iris v1 JSON at each concurrency; a table."""
    rows = run_modes(bench, tmp, store, cases["iris"][0], gunicorn, args, MODES)
    return runs_table(rows, "logging") + "\n\n" + cost_table(rows, [("off", "on (100%)")])


def run_rss(bench, tmp: Path, store: Path, cases: dict, gunicorn: list[str], args) -> str:
    """iris at `--concurrency` (the first level) for `--minutes` at 100% sampling; RSS every 30 s."""
    port = bench.free_port()
    env = {**podium_env(tmp, store, port, args.workers, tmp / "rss.sqlite3"), **MODES["on (100%)"].env}
    base = f"http://127.0.0.1:{port}"
    conc, samples = levels(args)[0], []
    with bench.server(gunicorn + ["wsgi:app"], env, base + "/readyz", tmp / "rss.log") as proc:
        bench.wrk(f"{base}/api/v1/models/iris:predict", cases["iris"][0], "application/json", 8, 2, True)
        seconds = int(args.minutes * 60)
        load = threading.Thread(target=lambda: samples.append(bench.wrk(
            f"{base}/api/v1/models/iris:predict", cases["iris"][0], "application/json", conc, seconds, True)))
        started = time.monotonic()
        load.start()
        table = ["| elapsed s | worker RSS MB (each) | log rows written | queued | dropped |",
                 "|---|---|---|---|---|"]
        while load.is_alive():
            table.append(_rss_row(bench, proc, base, time.monotonic() - started))
            print(table[-1], file=sys.stderr)
            load.join(timeout=30)
        table.append(_rss_row(bench, proc, base, time.monotonic() - started))
    done = samples[0] if samples else {"requests": 0, "seconds": 1}
    return "\n".join(table) + f"\n\n{done['requests']} requests in {done['seconds']:.0f} s " \
                              f"({done['requests'] / done['seconds']:.0f} req/s) at {conc} connections"


def _rss_row(bench, proc, base: str, elapsed: float) -> str:
    rss = [p.memory_info().rss / 2**20 for p in bench.workers(proc) if p.is_running()]
    figures = {}
    for line in bench.requests.get(base + "/metrics", timeout=10).text.splitlines():
        for name in ("podium_prediction_log_written_rows_total", "podium_prediction_log_queue_records",
                     "podium_prediction_log_dropped_records_total"):
            if line.startswith(name):
                figures[name] = figures.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return (f"| {elapsed:.0f} | {' / '.join(f'{r:.1f}' for r in sorted(rss))} | "
            f"{figures.get('podium_prediction_log_written_rows_total', 0):.0f} | "
            f"{figures.get('podium_prediction_log_queue_records', 0):.0f} | "
            f"{figures.get('podium_prediction_log_dropped_records_total', 0):.0f} |")


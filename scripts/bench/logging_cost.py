"""What the prediction log costs a real gunicorn Podium: iris throughput with logging off against
logging at 100% sampling (the two started back to back, several times, so a shared machine's drift
hits both), and worker RSS over a long run at 100% sampling. Run through `scripts/bench/run`:

    scripts/bench/run --only logging --concurrency 32 --seconds 10 --repeat 5
    scripts/bench/run --only rss --minutes 5
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

MODES = {"off": {"PODIUM_MONITORING": "false"},
         "on (100%)": {"PODIUM_MONITORING": "true", "PODIUM_LOG_SAMPLE_RATE": "1.0"}}


def podium_env(tmp: Path, store: Path, port: int, workers: int, mode: str, run: int) -> dict[str, str]:
    """Podium's environment for one run: its own database file, so runs never share one."""
    return {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(workers),
            "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(tmp / "users.json"),
            "PODIUM_SECRET_KEY": "bench", "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "",
            "PODIUM_DATABASE_URL": f"sqlite:///{tmp / f'log-{run}-{mode[:3].strip()}.sqlite3'}",
            **MODES[mode]}


def run_logging(bench, tmp: Path, store: Path, cases: dict, gunicorn: list[str], args) -> str:
    """`--repeat` pairs of runs (off, then on) of iris v1 JSON at each concurrency; a table."""
    body = cases["iris"][0]
    rows = []
    for run in range(args.repeat):
        for mode in MODES:
            port = bench.free_port()
            env = podium_env(tmp, store, port, args.workers, mode, run)
            base = f"http://127.0.0.1:{port}"
            with bench.server(gunicorn + ["wsgi:app"], env, base + "/readyz", tmp / "logging.log") as proc:
                bench.wrk(f"{base}/api/v1/models/iris:predict", body, "application/json", 8, 2, True)  # warm
                for conc in bench_levels(args):
                    result = bench.measure(proc, f"{base}/api/v1/models/iris:predict", body,
                                           "application/json", conc, args.seconds, base=base)
                    rows.append({"run": run + 1, "mode": mode, "conc": conc, **result})
                    print(rows[-1], file=sys.stderr)
    return logging_table(rows)


def bench_levels(args) -> list[int]:
    return [int(c) for c in args.concurrency.split(",")]


def logging_table(rows: list[dict]) -> str:
    lines = ["| run | logging | conc | req/s (2xx) | p50 ms | p99 ms | errors | worker RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['mode']} | {r['conc']} | {r['ok_rps']:.0f} | "
                     f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
                     f"{r['non2xx'] + r['socket_errors']} | {r['rss_mb']:.0f} |")
    lines += ["", "| conc | off: median (min-max) req/s | on: median (min-max) req/s | cost of logging "
              "(medians) | per-pair costs |", "|---|---|---|---|---|"]
    for conc in sorted({r["conc"] for r in rows}):
        off = [r["ok_rps"] for r in rows if r["conc"] == conc and r["mode"] == "off"]
        on = [r["ok_rps"] for r in rows if r["conc"] == conc and r["mode"] != "off"]
        pairs = ", ".join(f"{100 * (1 - b / a):+.1f}%" for a, b in zip(off, on, strict=False))
        cost = 100 * (1 - statistics.median(on) / statistics.median(off))
        lines.append(f"| {conc} | {statistics.median(off):.0f} ({min(off):.0f}-{max(off):.0f}) | "
                     f"{statistics.median(on):.0f} ({min(on):.0f}-{max(on):.0f}) | {cost:+.1f}% | {pairs} |")
    return "\n".join(lines)


def run_rss(bench, tmp: Path, store: Path, cases: dict, gunicorn: list[str], args) -> str:
    """iris at `--concurrency` (the first level) for `--minutes` at 100% sampling; RSS every 30 s."""
    port = bench.free_port()
    env = podium_env(tmp, store, port, args.workers, "on (100%)", 0)
    base = f"http://127.0.0.1:{port}"
    conc, samples = bench_levels(args)[0], []
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


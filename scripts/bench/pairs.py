"""Runs of a real gunicorn Podium in a few configurations ("modes") started back to back, `--repeat`
times, so a shared machine's drift hits every mode alike; and the tables that compare two modes by
their medians. What the prediction log costs (`--only logging`) and what a token check and the
rate limiter cost (`--only auth`) are both measured this way.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

IRIS = "/api/v1/models/iris:predict"


@dataclass(frozen=True)
class Mode:
    """One configuration: its PODIUM_* settings and the Authorization wrk sends (True: the bench
    user's basic auth; a string: the whole header value, e.g. "Bearer pdm_...")."""

    env: dict[str, str] = field(default_factory=dict)
    auth: bool | str = True


def podium_env(tmp: Path, store: Path, port: int, workers: int, database: Path) -> dict[str, str]:
    """Podium's environment for one run (its own instance folder under `tmp`)."""
    return {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(workers),
            "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(tmp / "users.json"),
            "PODIUM_INSTANCE_PATH": str(tmp / "instance"),
            "PODIUM_SECRET_KEY": "bench", "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "",
            "PODIUM_DATABASE_URL": f"sqlite:///{database}"}


def levels(args) -> list[int]:
    return [int(c) for c in args.concurrency.split(",")]


def run_modes(bench, tmp: Path, store: Path, body: bytes, gunicorn: list[str], args,
              modes: dict[str, Mode], database: Path | None = None) -> list[dict]:
    """iris v1 JSON at each concurrency, every mode once per repeat; one row per wrk run. Each run
    gets a fresh database file unless `database` names one they share (one holding tokens)."""
    rows = []
    for run in range(args.repeat):
        for number, (name, mode) in enumerate(modes.items()):
            port = bench.free_port()
            db = database or tmp / f"run-{run}-{number}.sqlite3"
            env = {**podium_env(tmp, store, port, args.workers, db), **mode.env}
            base = f"http://127.0.0.1:{port}"
            with bench.server(gunicorn + ["wsgi:app"], env, base + "/readyz", tmp / "pairs.log") as proc:
                settle(bench, proc)
                bench.wrk(base + IRIS, body, "application/json", 8, 2, mode.auth)  # warm both workers
                for conc in levels(args):
                    result = bench.measure(proc, base + IRIS, body, "application/json", conc,
                                           args.seconds, auth=mode.auth, base=base)
                    rows.append({"run": run + 1, "mode": name, "conc": conc, **result})
                    print(rows[-1], file=sys.stderr)
    return rows


def settle(bench, proc, idle_share: float = 0.1, longest: float = 60.0) -> None:
    """Wait (up to `longest` s) until the workers use under `idle_share` of a core: work a worker
    still does after /readyz (a model loading, a conversion) would otherwise land in the first run."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        procs = bench.workers(proc)
        before = sum(sum(p.cpu_times()[:2]) for p in procs)
        time.sleep(1.0)
        with contextlib.suppress(bench.psutil.Error):
            if sum(sum(p.cpu_times()[:2]) for p in procs) - before < idle_share:
                return
    print(f"workers still busy {longest:.0f} s after ready; measuring anyway", file=sys.stderr)


def runs_table(rows: list[dict], heading: str) -> str:
    """Every wrk run, in the order they ran."""
    lines = [f"| run | {heading} | conc | req/s (2xx) | p50 ms | p99 ms | errors | worker RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['mode']} | {r['conc']} | {r['ok_rps']:.0f} | "
                     f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
                     f"{r['non2xx'] + r['socket_errors']} | {r['rss_mb']:.0f} |")
    return "\n".join(lines)


def cost_table(rows: list[dict], pairs: list[tuple[str, str]]) -> str:
    """For each (without, with) pair of modes and concurrency: median req/s of each, the cost in %
    and in µs per request (the server's time per request at saturation, all workers together:
    1e6/req/s with minus without), and each repeat's own cost."""
    lines = ["| without → with | conc | without: median (min-max) req/s | with: median (min-max) req/s | "
             "cost (medians) | µs/request | per-pair costs |", "|---|---|---|---|---|---|---|"]
    for without, with_ in pairs:
        for conc in sorted({r["conc"] for r in rows}):
            off = [r["ok_rps"] for r in rows if r["conc"] == conc and r["mode"] == without]
            on = [r["ok_rps"] for r in rows if r["conc"] == conc and r["mode"] == with_]
            if not off or not on:
                continue
            a, b = statistics.median(off), statistics.median(on)
            each = ", ".join(f"{100 * (1 - y / x):+.1f}%" if x else "n/a"
                             for x, y in zip(off, on, strict=False))
            cost = f"{100 * (1 - b / a):+.1f}%" if a else "n/a"
            micro = f"{1e6 / b - 1e6 / a:+.1f}" if a and b else "n/a"  # a run that served nothing
            lines.append(f"| {without} → {with_} | {conc} | {a:.0f} ({min(off):.0f}-{max(off):.0f}) | "
                         f"{b:.0f} ({min(on):.0f}-{max(on):.0f}) | {cost} | {micro} | {each} |")
    return "\n".join(lines)

"""Before/after of two checkouts of Podium under gunicorn, interleaved so the machine's drift hits both.

Each round starts BEFORE's gunicorn, then AFTER's (each with its own `gunicorn.conf.py` and code, the
same store, users and settings: an API token, a rate limit that is never reached, the prediction log
at 100 %), waits for the workers to go quiet, warms them, and runs iris through `/api/v1` and
`/api/v2` at each concurrency; then prints every run and the medians. On a machine whose speed
drifts by ±25 % from minute to minute, one run of each side says nothing; the spread of the rounds
says how much a difference means.

    .venv/bin/python -m scripts.bench.compare_checkouts BEFORE AFTER [--rounds 3] [--seconds 6]
        [--before-env KEY=VALUE ...] [--after-env KEY=VALUE ...] [--store STORE]

Both checkouts run on this checkout's virtual environment. `--before-env GUNICORN_CMD_ARGS="--http-parser
python"` measures code from before gunicorn-h1c as it shipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import requests

from scripts.bench import bench
from scripts.bench.pairs import podium_env, settle
from scripts.bench.tail_latency import copy_store

IRIS = [5.1, 3.5, 1.4, 0.2]
PATHS = {"v1": ("/api/v1/models/iris:predict", {"instances": [IRIS]}),
         "v2": ("/api/v2/models/iris/infer",
                {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS}]})}


def pairs(values: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) for value in values)


def run_side(root: Path, env: dict[str, str], tmp: Path, label: str, args) -> list[tuple]:
    """One start of one checkout: (API, connections, req/s, p50 ms, p99 ms) per wrk run."""
    port = bench.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**podium_env(tmp, tmp / "store", port, 2, tmp / f"{label}.sqlite3"),
           "PODIUM_RATE_LIMIT": "1000000/second", **env}
    argv = [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"), "wsgi:app"]
    found = []
    with bench.server(argv, env, base + "/readyz", tmp / f"{label}.log", cwd=root) as proc:
        token = requests.post(base + "/api/tokens", auth=bench.USER, json={"name": "compare"},
                              timeout=30).json()["token"]
        settle(bench, proc)
        body = json.dumps(PATHS["v1"][1]).encode()
        bench.wrk(base + PATHS["v1"][0], body, "application/json", 8, 2, f"Bearer {token}")  # warm both
        for api, (path, doc) in PATHS.items():
            for conc in args.concurrency:
                got = bench.measure(proc, base + path, json.dumps(doc).encode(), "application/json", conc,
                                    args.seconds, auth=f"Bearer {token}", base=base)
                found.append((api, conc, got["ok_rps"], got["p50_us"] / 1000, got["p99_us"] / 1000))
                print(label, found[-1], file=sys.stderr, flush=True)
    return found


def tables(rows: list[tuple]) -> str:
    """Every run, then per side, API and concurrency the medians and the runs' req/s."""
    lines = ["| round | code | API | conc | req/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r + 1} | {side} | {api} | {conc} | {rps:.0f} | {p50:.2f} | {p99:.2f} |"
              for r, side, api, conc, rps, p50, p99 in rows]
    lines += ["", "| code | API | conc | median req/s | runs | median p50 ms | median p99 ms |",
              "|---|---|---|---|---|---|---|"]
    for api in PATHS:
        for conc in sorted({row[3] for row in rows}):
            for side in ("before", "after"):
                chosen = [row for row in rows if row[1:4] == (side, api, conc)]
                lines.append(f"| {side} | {api} | {conc} | {statistics.median(r[4] for r in chosen):.0f} | "
                             f"{' / '.join(f'{r[4]:.0f}' for r in chosen)} | "
                             f"{statistics.median(r[5] for r in chosen):.2f} | "
                             f"{statistics.median(r[6] for r in chosen):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--concurrency", type=lambda text: [int(c) for c in text.split(",")],
                        default=[1, 8, 32])
    parser.add_argument("--before-env", nargs="*", default=[], help="KEY=VALUE for BEFORE's server")
    parser.add_argument("--after-env", nargs="*", default=[], help="KEY=VALUE for AFTER's server")
    parser.add_argument("--store", default="", help="a store to copy (converted versions kept) "
                        "instead of building the bench's")
    args = parser.parse_args()
    (bench.ROOT / ".bench").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="compare-", dir=bench.ROOT / ".bench"))
    sides = {"before": (args.before.resolve(), pairs(args.before_env)),
             "after": (args.after.resolve(), pairs(args.after_env))}
    rows = []
    try:
        if args.store:
            copy_store(Path(args.store), tmp)
        else:
            bench.prepare(tmp)
        for round_ in range(args.rounds):
            for side, (root, env) in sides.items():
                rows += [(round_, side, *run) for run in run_side(root, env, tmp, f"{side}-{round_}", args)]
        print(tables(rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Tail latency at one connection: a real gunicorn Podium (production settings, prediction log at
100 %, a rate limit, an API token), one keep-alive connection, N requests in a row per target;
prints p50 / p99 / max and when the slow ones came, to find what stalls a request now and then.

    .venv/bin/python -m scripts.bench.tail_latency [--requests 3000] [--models iris,forest]

Builds its store under `.bench/` like `scripts/bench/run` (the first run trains and converts).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

from scripts.bench import bench

SLOW_MS = 10.0


def start_env(tmp: Path, store: Path, port: int) -> dict[str, str]:
    return {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": "2", "PODIUM_MODEL_STORE": str(store),
            "PODIUM_USERS_FILE": str(tmp / "users.json"), "PODIUM_SECRET_KEY": "bench",
            "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "", "PODIUM_RATE_LIMIT": "100000/second",
            "PODIUM_DATABASE_URL": f"sqlite:///{tmp / 'podium.sqlite3'}", "PODIUM_MONITORING": "true"}


def bodies(store: Path, model: str) -> dict[str, tuple[str, bytes]]:
    """label → (path, body) through /api/v1 and /api/v2 for one model's first held-out row."""
    row = [5.1, 3.5, 1.4, 0.2] if model == "iris" else \
        json.loads((store / model / "1" / "heldout.json").read_text())["x"][0]
    flat = [float(x) for x in _flatten(row)]
    v2_shape = [1, *_shape(row)]
    name = "image" if len(v2_shape) > 2 else "input"  # the name Podium's v2 metadata gives each kind
    v2 = {"inputs": [{"name": name, "shape": v2_shape, "datatype": "FP32", "data": flat}]}
    return {f"{model} v1": (f"/api/v1/models/{model}:predict", json.dumps({"instances": [row]}).encode()),
            f"{model} v2": (f"/api/v2/models/{model}/infer", json.dumps(v2).encode())}


def _flatten(value):
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _shape(value) -> list[int]:
    return [len(value), *_shape(value[0])] if isinstance(value, list) else []


def run(port: int, path: str, body: bytes, token: str, n: int) -> tuple[list[float], ...]:
    """(latencies in ms, start times in s, Server-Timing totals in ms) of n requests on one
    keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies, starts, inside = [], [], []
    began = time.perf_counter()
    for _ in range(n):
        started = time.perf_counter()
        conn.request("POST", path, body, headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"{path}: {answer.status}")
        latencies.append((time.perf_counter() - started) * 1000)
        starts.append(started - began)
        inside.append(server_ms(answer.getheader("Server-Timing", "")))
    conn.close()
    return latencies, starts, inside


def server_ms(header: str) -> float:
    """The sum of the Server-Timing phases (queue, decode, compute, encode) in ms."""
    return sum(float(part.split("dur=")[1]) for part in header.split(",") if "dur=" in part)


def report(label: str, latencies: list[float], starts: list[float], inside: list[float]) -> str:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    slow = [(round(s, 2), round(ms, 1), round(phases, 2))
            for s, ms, phases in zip(starts, latencies, inside, strict=True) if ms > SLOW_MS]
    return (f"| {label} | {len(latencies)} | {pick(0.5):.2f} | {pick(0.99):.2f} | {ordered[-1]:.1f} | "
            f"{len(slow)} | {slow[:8]} |")


def copy_store(source: Path, tmp: Path) -> Path:
    from webapp.accounts.users import UserStore

    shutil.copytree(source, tmp / "store")
    UserStore(tmp / "users.json").add(*bench.USER, "user")
    return tmp / "store"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--models", default="iris,forest")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the targets")
    parser.add_argument("--store", default="", help="a store to copy (converted versions kept) "
                        "instead of building the bench's")
    args = parser.parse_args()
    (bench.ROOT / ".bench").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tail-", dir=bench.ROOT / ".bench"))
    try:
        store = copy_store(Path(args.store), tmp) if args.store else bench.prepare(tmp)
        port = bench.free_port()
        argv = [sys.executable, "-m", "gunicorn", "-c", str(bench.ROOT / "gunicorn.conf.py"), "wsgi:app"]
        base = f"http://127.0.0.1:{port}"
        with bench.server(argv, start_env(tmp, store, port), base + "/readyz", tmp / "podium.log"):
            token = requests.post(base + "/api/tokens", auth=bench.USER, json={"name": "tail"},
                                  timeout=30).json()["token"]
            lines = [f"| target | requests | p50 ms | p99 ms | max ms | > {SLOW_MS:g} ms | "
                     "first slow ones (s into the run, ms, of which Server-Timing ms) |",
                     "|---|---|---|---|---|---|---|"]
            for _ in range(args.rounds):
                for model in args.models.split(","):
                    for label, (path, body) in bodies(store, model).items():
                        run(port, path, body, token, 200)  # warm the connection and the worker
                        lines.append(report(label, *run(port, path, body, token, args.requests)))
                        print(lines[-1], file=sys.stderr)
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Measure single-request latency and per-worker memory; prints a table (and JSON with --json).

1. In-process: `ModelService.predict` on one held-out row, `--calls` times per model.
2. Over HTTP: a real gunicorn (gunicorn.conf.py, `--workers` workers) on a free 127.0.0.1 port,
   one keep-alive `requests.Session`, `--http-calls` POSTs to `/api/v1/models/<m>:predict`.
3. Memory: each worker's RSS from `/api/stats` once every demo model is loaded.

Loopback only; every loop is bounded by its count and by `--max-seconds`.
Usage: .venv/bin/python scripts/measure_latency.py [--store model_store] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODELS = ("iris", "digits")


class Budget:
    """A wall-clock limit shared by every loop."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> bool:
        return time.monotonic() < self.deadline


def summary(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {"n": len(ms), "median_ms": round(float(np.median(ms)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "mean_ms": round(float(ms.mean()), 3)}


def one_row(store: Path, name: str) -> list:
    versions = sorted(int(p.name) for p in (store / name).iterdir() if p.name.isdigit())
    held = json.loads((store / name / str(versions[-1]) / "heldout.json").read_text())
    return held["x"][:1]


def digit_png(store: Path) -> bytes:
    from PIL import Image

    pixels = np.asarray(one_row(store, "digits")[0], dtype=np.float64).reshape(8, 8)
    image = Image.fromarray((255 - pixels / 16 * 255).astype(np.uint8)).resize((64, 64))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def timed(call, count: int, budget: Budget, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        if not budget.left():
            break
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def in_process(store: Path, calls: int, budget: Budget) -> dict[str, dict]:
    from webapp.serving.inputs import Images, Rows
    from webapp.serving.service import ModelService, ServingOptions, Target

    service = ModelService(str(store), ServingOptions(framework_threads=os.cpu_count() or 1))
    service.refresh()
    results = {}
    for name in MODELS:
        rows = Rows(one_row(store, name))
        results[name] = summary(timed(lambda n=name, r=rows: service.predict(Target(n), lambda _: r),
                                      calls, budget))
    png = Images([digit_png(store)])
    results["digits (PNG bytes)"] = summary(timed(lambda: service.predict(Target("digits"), lambda _: png),
                                                  calls, budget))
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(store: Path, workers: int, budget: Budget):
    """A real gunicorn over `store` with one throwaway user; yields (url, auth)."""
    from webapp.accounts.users import UserStore

    with tempfile.TemporaryDirectory(prefix="podium-measure-") as tmp:
        user = ("measure", secrets.token_urlsafe(12))
        UserStore(Path(tmp) / "users.json").add(*user, role="admin")
        port = free_port()
        env = {**os.environ, "PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(workers),
               "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(Path(tmp) / "users.json"),
               "PODIUM_SECRET_KEY": secrets.token_hex(16), "PODIUM_CREATE_ADMIN": "false",
               "PODIUM_ACCESS_LOG": ""}
        with open(Path(tmp) / "gunicorn.log", "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                        "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            while budget.left() and process.poll() is None:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                time.sleep(0.5)
            else:
                raise RuntimeError("gunicorn did not become ready:\n"
                                   + (Path(tmp) / "gunicorn.log").read_text()[-2000:])
            yield url, user
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def worker_memory(url: str, auth: tuple[str, str], workers: int, budget: Budget) -> dict[int, dict]:
    """pid → RSS and loaded versions, asking over fresh connections until every worker answered."""
    seen: dict[int, dict] = {}
    for _ in range(200 * workers):
        if len(seen) >= workers or not budget.left():
            break
        doc = requests.get(url + "/api/stats", auth=auth, headers={"Connection": "close"}, timeout=10).json()
        if not doc["ready"]:  # this worker is still loading: ask again shortly
            time.sleep(0.2)
            continue
        versions = [v for m in doc["models"].values() for v in m["versions"].values()]
        loaded = sum(v["state"] == "AVAILABLE" for v in versions)
        seen[doc["process"]["pid"]] = {"rss_mb": doc["process"]["rss_mb"], "versions_loaded": loaded,
                                       "threads": doc["process"]["threads"]}
    return seen


def over_http(store: Path, calls: int, workers: int, budget: Budget) -> tuple[dict, dict]:
    with gunicorn(store, workers, budget) as (url, auth):
        session = requests.Session()
        session.auth = auth
        results = {}
        for name in MODELS:
            body = json.dumps({"instances": one_row(store, name)})
            endpoint = f"{url}/api/v1/models/{name}:predict"

            def call(endpoint=endpoint, body=body):
                response = session.post(endpoint, data=body, headers={"Content-Type": "application/json"},
                                        timeout=10)
                response.raise_for_status()

            results[name] = summary(timed(call, calls, budget))
        b64 = json.dumps({"instances": [{"b64": base64.b64encode(digit_png(store)).decode()}]})
        png_call = lambda: session.post(f"{url}/api/v1/models/digits:predict", data=b64,  # noqa: E731
                                        timeout=10).raise_for_status()
        results["digits (b64 PNG)"] = summary(timed(png_call, calls, budget))
        session.close()
        memory = worker_memory(url, auth, workers, budget)  # after serving: warmed-up workers
    return results, memory


def demo_store(path: str | None, keep: list) -> Path:
    """The given store, or ./model_store when it has models, or freshly trained demos in a temp dir."""
    if path:
        return Path(path).resolve()
    local = ROOT / "model_store"
    if (local / "iris").is_dir() and (local / "digits").is_dir():
        return local
    from webapp.demos import train_demos

    tmp = tempfile.TemporaryDirectory(prefix="podium-demos-")
    keep.append(tmp)
    print("Training the demo models into a temporary store (about a minute) ...", flush=True)
    train_demos(tmp.name)
    return Path(tmp.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="model store (default: ./model_store or freshly trained demos)")
    parser.add_argument("--calls", type=int, default=1000, help="in-process calls per model")
    parser.add_argument("--http-calls", type=int, default=500, help="HTTP calls per model")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=600, help="stop every loop after this")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    keep: list = []
    store = demo_store(args.store, keep)
    budget = Budget(args.max_seconds)
    local = in_process(store, args.calls, budget)
    http, memory = over_http(store, args.http_calls, args.workers, budget)
    print(f"\nSingle-request latency ({os.cpu_count()} cores, {args.workers} gunicorn workers)")
    print(f"{'path':<14}{'model':<22}{'n':>6}{'median ms':>12}{'p99 ms':>10}")
    for where, table in (("in-process", local), ("HTTP /api/v1", http)):
        for name, row in table.items():
            print(f"{where:<14}{name:<22}{row['n']:>6}{row['median_ms']:>12.3f}{row['p99_ms']:>10.3f}")
    print("\nPer-worker memory with every demo model loaded")
    for pid, row in sorted(memory.items()):
        print(f"  worker pid {pid}: RSS {row['rss_mb']} MB, {row['versions_loaded']} versions loaded, "
              f"{row['threads']} threads")
    if args.json:
        Path(args.json).write_text(json.dumps({"in_process": local, "http": http,
                                               "workers": {str(k): v for k, v in memory.items()}},
                                              indent=2))


if __name__ == "__main__":
    main()

"""What one worker spends per API request, in process: the WSGI app called directly, no sockets.

Podium is built as it runs in production (prediction log at 100 % with its writer thread, a rate
limit, token and basic auth) and each case's request is replayed through
`app.wsgi_app(environ, start_response)` with a prepared environ. Prints per request the min over
repeats of the request thread's CPU µs and the whole process's (which adds what each request
leaves to other threads: the log writer, timers), and the function calls (Python and C, counted:
the one figure a busy machine does not blur), beside a bare Flask JSON view called the same way.
`--profile CASE` prints cProfile's top functions; `--gc` counts garbage collections.

    .venv/bin/python -m scripts.bench.request_path STORE [--profile "iris v1 token"] [--calls 5000]

STORE needs iris (and the forest, for its cases); `scripts/bench/run` builds one under `.bench/`.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask, jsonify

from webapp import create_app

USER = ("bench", "bench-password-1")
IRIS = [5.1, 3.5, 1.4, 0.2]


def podium(store: str, instance: Path, monitoring: bool = True) -> tuple[Flask, str]:
    """Podium as production runs it (or with MONITORING off), and an API token of the bench user."""
    app = create_app({"MODEL_STORE": store, "BACKGROUND_LOADING": False, "CREATE_ADMIN": False,
                      "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance),
                      "DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}",
                      "RATE_LIMIT": "1000000/second", "LOG_SAMPLE_RATE": 1.0, "LOG_LEVEL": "WARNING",
                      # what gunicorn.conf.py gives each of 2 workers on 2 cores
                      "FRAMEWORK_THREADS": 1, "MONITORING": monitoring})
    app.extensions["podium.users"].add(*USER, "user")
    app.extensions["podium.service"].refresh()
    if monitoring:
        app.extensions["podium.monitoring"].start()
    secret, _ = app.extensions["podium.tokens"].create(USER[0], "bench")
    return app, secret


def hello() -> Flask:
    """The bare view of scripts/bench/hello_app.py."""
    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: jsonify(message="hello"), methods=["GET", "POST"])
    return app


def environ(path: str, body: bytes, authorization: str | None) -> dict:
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
           "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
           "wsgi.errors": io.StringIO(), "wsgi.multithread": True, "wsgi.multiprocess": True,
           "wsgi.run_once": False}
    if authorization:
        env["HTTP_AUTHORIZATION"] = authorization
    return env


def cases(store: Path, token: str) -> dict[str, tuple[str, dict, bytes]]:
    """name → (app key, environ, body) for each request replayed."""
    basic = "Basic " + base64.b64encode(":".join(USER).encode()).decode()
    v1 = json.dumps({"instances": [IRIS]}).encode()
    v2 = json.dumps({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                                 "data": IRIS}]}).encode()
    found = {"hello (bare Flask view)": ("hello", environ("/hello", b"{}", None), b"{}"),
             "iris v1 token": ("podium", environ("/api/v1/models/iris:predict", v1, f"Bearer {token}"), v1),
             "iris v1 basic": ("podium", environ("/api/v1/models/iris:predict", v1, basic), v1),
             "iris v2 token": ("podium", environ("/api/v2/models/iris/infer", v2, f"Bearer {token}"), v2)}
    heldout = store / "forest" / "1" / "heldout.json"
    if heldout.exists():
        forest = json.dumps({"instances": json.loads(heldout.read_text())["x"][:1]}).encode()
        found["forest v1 token"] = ("podium", environ("/api/v1/models/forest:predict", forest,
                                                      f"Bearer {token}"), forest)
    return found


def call(app: Flask, env: dict, body: bytes) -> str:
    """One request through the WSGI app; its status line."""
    seen: list[str] = []
    request = dict(env, **{"wsgi.input": io.BytesIO(body)})
    out = app.wsgi_app(request, lambda status, headers, exc_info=None: seen.append(status))
    b"".join(out)
    if hasattr(out, "close"):
        out.close()
    return seen[0]


def per_request_us(app: Flask, env: dict, body: bytes, calls: int) -> tuple[float, float]:
    """(request thread CPU µs, whole process CPU µs) per request over `calls` requests; the
    process figure adds what the request leaves to other threads (the log writer, timers)."""
    thread, process = time.thread_time_ns(), time.process_time_ns()
    for _ in range(calls):
        call(app, env, body)
    return ((time.thread_time_ns() - thread) / calls / 1000,
            (time.process_time_ns() - process) / calls / 1000)


def calls_per_request(app: Flask, env: dict, body: bytes, calls: int = 200) -> float:
    """Python and C function calls per request: the same on a busy machine as on an idle one."""
    count = 0

    def counter(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(counter)
    try:
        for _ in range(calls):
            call(app, env, body)
    finally:
        sys.setprofile(None)
    return count / calls


def measure(apps: dict[str, Flask], found: dict, calls: int, repeats: int) -> dict[str, list[float]]:
    for name, (key, env, body) in found.items():
        status = call(apps[key], env, body)
        if not status.startswith("200"):
            raise SystemExit(f"{name}: {status}")
        per_request_us(apps[key], env, body, calls // 5)  # warm up
    best = {name: [float("inf"), float("inf"), calls_per_request(apps[key], env, body)]
            for name, (key, env, body) in found.items()}
    for _ in range(repeats):  # interleaved, so the machine's drift hits every case
        for name, (key, env, body) in found.items():
            figures = per_request_us(apps[key], env, body, calls)
            best[name][:2] = [min(a, b) for a, b in zip(best[name], figures, strict=False)]
    return best


def profile(app: Flask, env: dict, body: bytes, calls: int, top: int) -> None:
    per_request_us(app, env, body, calls // 5)
    profiler = cProfile.Profile()
    profiler.runcall(per_request_us, app, env, body, calls)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def collections(app: Flask, env: dict, body: bytes, calls: int) -> str:
    """Garbage collections during `calls` requests: count, mean and longest ms per generation."""
    started: dict[int, float] = {}
    seen: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def timer(phase: str, info: dict) -> None:
        if phase == "start":
            started[info["generation"]] = time.perf_counter()
        else:
            seen[info["generation"]].append((time.perf_counter() - started[info["generation"]]) * 1000)

    gc.callbacks.append(timer)
    try:
        for _ in range(calls):
            call(app, env, body)
    finally:
        gc.callbacks.remove(timer)
    return " | ".join(f"{len(ms)} × {sum(ms) / len(ms):.2f} (max {max(ms):.1f})" if ms else "0"
                      for ms in seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", default="", help="a case name: print its cProfile instead")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--gc", action="store_true", help="count garbage collections per case instead")
    args = parser.parse_args()
    app, token = podium(args.store, Path(tempfile.mkdtemp(prefix="request-path-")))
    apps = {"podium": app, "hello": hello()}
    found = cases(Path(args.store), token)
    try:
        if args.profile:
            key, env, body = found[args.profile]
            profile(apps[key], env, body, args.calls, args.top)
            return
        if args.gc:
            print(f"| request | gen 0 | gen 1 | gen 2 (collections in {args.calls} requests × mean ms) |"
                  "\n|---|---|---|---|")
            for name, (key, env, body) in found.items():
                print(f"| {name} | {collections(apps[key], env, body, args.calls)} |")
            return
        best = measure(apps, found, args.calls, args.repeats)
    finally:
        app.extensions["podium.monitoring"].close()
    print(f"| request (in process, WSGI app called directly; min of {args.repeats} × {args.calls}) | "
          "request thread CPU µs | worker process CPU µs | function calls |\n|---|---|---|---|")
    for name, (thread, process, count) in best.items():
        print(f"| {name} | {thread:.0f} | {process:.0f} | {count:.0f} |")


if __name__ == "__main__":
    main()

"""Benchmark Podium against a tutorial-style Flask app and a bare Flask endpoint, with wrk, on loopback.

Run it through `scripts/bench/run` (it installs wrk and the venv). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
USER = ("bench", "bench-password-1")
AUTH = base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(size: int) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 255, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def bodies(store: Path) -> dict[str, tuple[bytes, str, object]]:
    """name → (JSON body, model, instances as the service sees them) for each benchmarked model."""
    iris = [[5.1, 3.5, 1.4, 0.2]]
    forest = [json.loads((store / "forest/1/heldout.json").read_text())["x"][0]]
    digits = [json.loads((store / "digits/1/heldout.json").read_text())["x"][0]]
    image = png(224)
    return {
        "iris": (json.dumps({"instances": iris}).encode(), "iris", iris),
        "forest": (json.dumps({"instances": forest}).encode(), "forest", forest),
        "digits": (json.dumps({"instances": digits}).encode(), "digits", digits),
        "mobilenet": (json.dumps({"instances": [{"b64": base64.b64encode(image).decode()}]}).encode(),
                      "mobilenet", [image]),
    }


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = "podiumbench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def server(argv: list[str], env: dict[str, str], ready_url: str, log: Path, timeout: float = 600,
           any_answer: bool = False, cwd: Path = ROOT):
    with open(log, "wb") as sink:
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                status = requests.get(ready_url, timeout=2).status_code
                if status == 200 or (any_answer and status < 500):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children()


def wrk(url: str, body: bytes, ctype: str, conc: int, seconds: int, auth: bool | str) -> dict:
    """wrk's summary; `auth`: True for the bench user's basic auth, a string for the whole
    Authorization header ("Bearer pdm_...")."""
    with tempfile.NamedTemporaryFile(suffix=".body") as fh:
        fh.write(body)
        fh.flush()
        env = {**os.environ, "BENCH_BODY": fh.name, "BENCH_CONTENT_TYPE": ctype}
        if auth:
            env["BENCH_AUTH"] = auth if isinstance(auth, str) else f"Basic {AUTH}"
        out = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{seconds}s", "--timeout", "10s",
                              "-s", str(HERE / "post.lua"), url], env=env, capture_output=True,
                             text=True, timeout=seconds + 60, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    doc = json.loads(line[6:])
    doc["rps"] = doc["requests"] / doc["seconds"]
    return doc


def shed_count(base: str | None) -> float:
    """503 answers Podium has counted so far (from /metrics), to tell shedding from failures."""
    if base is None:
        return 0.0
    text = requests.get(base + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("podium_requests_total{") and 'code="503"' in line)


def measure(proc, url, body, ctype, conc, seconds, auth=True, base=None) -> dict:
    procs = workers(proc)
    shed0 = shed_count(base)
    cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
    result = wrk(url, body, ctype, conc, seconds, auth)
    shares = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            shares.append(sum(p.cpu_times()[:2]) - cpu0[p.pid])
    total = sum(shares) or 1.0
    result["spread"] = "/".join(f"{100 * s / total:.0f}" for s in sorted(shares, reverse=True))
    result["rss_mb"] = max((p.memory_info().rss for p in procs), default=0) / 2**20
    result["shed"] = int(shed_count(base) - shed0)
    result["ok_rps"] = (result["requests"] - result["non2xx"]) / result["seconds"]
    return result


def in_process_limits(store: Path, cases: dict, workers_n: int) -> dict[str, float]:
    """req/s the served path could reach with no HTTP: workers / seconds per request in process."""
    from webapp.serving.inputs import Images, Rows
    from webapp.serving.service import ModelService, Target

    svc = ModelService(str(store))
    svc.refresh()
    limits = {}
    for name, (_, model, instances) in cases.items():
        batch = 8 if name == "mobilenet" else 1
        many = instances * batch
        inputs = Images(many) if isinstance(many[0], bytes) else Rows(many)
        started, calls = time.perf_counter(), 0
        while calls < 5 or time.perf_counter() - started < 1.0:
            svc.predict(Target(model), lambda _, given=inputs: given)
            calls += 1
        per_request = (time.perf_counter() - started) / calls / batch
        limits[name] = workers_n / per_request
    return limits


def prepare(tmp: Path) -> Path:
    """A temp copy of the demo store (trained when the repository has none) plus the bench models."""
    from scripts.bench.models import build
    from webapp.demos import train_demos

    store = tmp / "store"
    local = ROOT / "model_store"
    if (local / "iris" / "1" / "model.json").exists():
        shutil.copytree(local, store, ignore=shutil.ignore_patterns(".accelerate*"))
    train_demos(store)
    build(store)
    from webapp.accounts.users import UserStore

    UserStore(tmp / "users.json").add(*USER, "user")
    return store


def podium_targets(base: str, cases: dict) -> list[tuple[str, str, bytes, str]]:
    """(label, url, body, content type) for every Podium route that exists (v2 is probed)."""
    targets = [(f"{n} v1 JSON", f"{base}/api/v1/models/{m}:predict", b, "application/json")
               for n, (b, m, _) in cases.items()]
    image_body, image_type = multipart(cases["mobilenet"][2][0])
    targets.append(("mobilenet v1 upload", f"{base}/api/v1/models/mobilenet:predict", image_body,
                    image_type))
    probe = requests.post(f"{base}/api/v2/models/iris/infer", auth=USER, timeout=10, json={
        "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]})
    if probe.status_code != 404:
        body = json.dumps({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                                       "data": [5.1, 3.5, 1.4, 0.2]}]}).encode()
        targets.append(("iris v2 JSON", f"{base}/api/v2/models/iris/infer", body, "application/json"))
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated: podium,overload,tutorial,hello; "
                        "or logging (iris with the prediction log off against on, --repeat pairs) "
                        "or auth (iris with basic auth, a bearer token, and the rate limiter on) "
                        "or rss (worker RSS over --minutes at 100%% sampling)")
    parser.add_argument("--logging", choices=["on", "off"], default="on",
                        help="the prediction log in the podium runs (on = 100%% sampling)")
    parser.add_argument("--auth", choices=["token", "basic"], default="token",
                        help="the podium runs' credentials: an API token with a rate limit that is "
                        "never reached (as production runs), or basic auth and no limit")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of runs for --only logging / auth")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the --only rss run")
    parser.add_argument("--models", default="", help="comma-separated model names to keep")
    parser.add_argument("--overload", type=int, default=128,
                        help="connections for the overload run on mobilenet (0 = skip)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    parts = set(args.only.split(",")) if args.only else {"podium", "overload", "tutorial", "hello"}
    (ROOT / ".bench").mkdir(exist_ok=True)  # not the shared /tmp, which other tools may sweep
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / ".bench"))
    rows: list[dict] = []
    try:
        store = prepare(tmp)
        cases = bodies(store)
        if args.models:
            cases = {k: v for k, v in cases.items() if k in args.models.split(",") or k == "mobilenet"}
            cases["mobilenet"] = cases["mobilenet"]  # the upload target needs its image
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        if parts & {"logging", "rss", "auth"}:
            from scripts.bench import auth_cost, logging_cost

            run = (auth_cost.run_auth if "auth" in parts else
                   logging_cost.run_logging if "logging" in parts else logging_cost.run_rss)
            print(run(sys.modules[__name__], tmp, store, cases, gunicorn, args))
            return
        if "podium" in parts:
            rows += run_podium(tmp, store, cases, gunicorn, levels, args)
        if "overload" in parts and args.overload:
            rows += run_overload(tmp, store, cases, gunicorn, args)
        if "tutorial" in parts:
            rows += run_tutorial(tmp, store, cases, levels, args)
        if "hello" in parts:
            rows += run_hello(tmp, gunicorn, levels, args)
        limits = in_process_limits(store, cases, args.workers) if "podium" in parts else {}
        print(table(rows, limits))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_podium(tmp, store, cases, gunicorn, levels, args) -> list[dict]:
    port = free_port()
    env = {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(args.workers),
           "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(tmp / "users.json"),
           "PODIUM_SECRET_KEY": "bench", "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "",
           "PODIUM_DATABASE_URL": f"sqlite:///{tmp / 'podium.sqlite3'}",
           "PODIUM_MONITORING": "true" if args.logging == "on" else "false"}
    credential: bool | str = True  # basic auth
    if args.auth == "token":  # as production runs: an API token and a rate limit (never reached)
        from scripts.bench.auth_cost import NEVER, bench_app

        app = bench_app(tmp, store, tmp / "podium.sqlite3")
        credential = "Bearer " + app.extensions["podium.tokens"].create(USER[0], "bench")[0]
        env.update({"PODIUM_RATE_LIMIT": NEVER, "PODIUM_RATE_LIMIT_STORAGE_URL": "memory://"})
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    rows = []
    with server(gunicorn + ["wsgi:app"], env, base + "/readyz", tmp / "podium.log") as proc:
        print(f"podium ready in {time.monotonic() - started:.1f}s (conversions included)", file=sys.stderr)
        for label, url, body, ctype in podium_targets(base, cases):
            if args.models and label.split()[0] not in args.models.split(","):
                continue
            for conc in levels:
                rows.append({"target": label, "server": "podium", "conc": conc,
                             **measure(proc, url, body, ctype, conc, args.seconds, auth=credential,
                                       base=base)})
                print(rows[-1], file=sys.stderr)
    return rows


def run_overload(tmp, store, cases, gunicorn, args) -> list[dict]:
    """Mobilenet at `--overload` connections, on a Podium told to shed (a small queue, more threads)."""
    port = free_port()
    env = {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(args.workers),
           "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(tmp / "users.json"),
           "PODIUM_SECRET_KEY": "bench", "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "",
           "PODIUM_THREADS": "16", "PODIUM_MAX_QUEUE": "8",
           "PODIUM_DATABASE_URL": f"sqlite:///{tmp / 'overload.sqlite3'}"}
    base = f"http://127.0.0.1:{port}"
    with server(gunicorn + ["wsgi:app"], env, base + "/readyz", tmp / "overload.log") as proc:
        row = {"target": "mobilenet v1 JSON (MAX_QUEUE=8, 16 threads)", "server": "podium",
               "conc": args.overload, **measure(proc, f"{base}/api/v1/models/mobilenet:predict",
                                                cases["mobilenet"][0], "application/json",
                                                args.overload, args.seconds, base=base)}
    print(row, file=sys.stderr)
    return [row]


def run_tutorial(tmp, store, cases, levels, args) -> list[dict]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
            "--chdir", str(HERE), "tutorial_app:app", "--timeout", "120"]
    base = f"http://127.0.0.1:{port}"
    rows = []
    # started from its own folder: gunicorn reads ./gunicorn.conf.py by default, and Podium's (one
    # socket per worker slot on PODIUM_BIND) would leave the tutorial's own port unanswered
    with server(argv + ["--worker-class", "sync"], {"BENCH_STORE": str(store)}, base + "/predict/iris",
                tmp / "tutorial.log", any_answer=True, cwd=HERE) as proc:
        for name, (body, model, _) in cases.items():
            for _ in range(4):  # both workers load the model before timing
                requests.post(f"{base}/predict/{model}", data=body, timeout=120,
                              headers={"Content-Type": "application/json", "Connection": "close"})
            for conc in levels:
                rows.append({"target": f"{name} v1 JSON", "server": "tutorial", "conc": conc,
                             **measure(proc, f"{base}/predict/{model}", body, "application/json",
                                       conc, args.seconds, auth=False)})
                print(rows[-1], file=sys.stderr)
    return rows


def run_hello(tmp, gunicorn, levels, args) -> list[dict]:
    rows = []
    for kind, extra in (("hello (gthread, Podium's gunicorn.conf.py)", []),
                        ("hello (sync)", ["--worker-class", "sync"])):
        port = free_port()
        env = {"PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(args.workers),
               "PODIUM_ACCESS_LOG": ""}
        argv = gunicorn + extra + ["--chdir", str(HERE), "hello_app:app"]
        base = f"http://127.0.0.1:{port}"
        with server(argv, env, base + "/hello", tmp / "hello.log") as proc:
            for conc in levels:
                rows.append({"target": "hello", "server": kind, "conc": conc,
                             **measure(proc, base + "/hello", b"{}", "application/json", conc,
                                       args.seconds, auth=False)})
                print(rows[-1], file=sys.stderr)
    return rows


def table(rows: list[dict], limits: dict[str, float]) -> str:
    tutorial = {(r["target"], r["conc"]): r["ok_rps"] for r in rows if r["server"] == "tutorial"}
    hello = {r["conc"]: r["ok_rps"] for r in rows if r["server"].startswith("hello (gthread")}
    lines = ["| target | server | conc | req/s (2xx) | p50 ms | p99 ms | errors | 503 shed | worker RSS MB | "
             "CPU spread % | × tutorial | × hello | % in-process limit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        model = r["target"].split()[0]
        t = tutorial.get((r["target"], r["conc"]))
        h = hello.get(r["conc"])
        limit = limits.get(model) if r["server"] == "podium" else None
        failed = r["non2xx"] + r["socket_errors"]
        shed = min(r.get("shed", 0), failed)  # the server may count a few answers wrk never read
        cells = "| {} " * 13 + "|"
        lines.append(cells.format(
            r["target"], r["server"], r["conc"], f"{r['ok_rps']:.0f}", f"{r['p50_us'] / 1000:.2f}",
            f"{r['p99_us'] / 1000:.2f}", failed - shed, shed,
            f"{r['rss_mb']:.0f}", r["spread"],
            f"{r['ok_rps'] / t:.1f}" if t and r["server"] == "podium" else "",
            f"{r['ok_rps'] / h:.2f}" if h and r["server"] == "podium" else "",
            f"{100 * r['ok_rps'] / limit:.0f}% of {limit:.0f}" if limit else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    main()

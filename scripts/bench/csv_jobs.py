"""A 100,000-row CSV job (iris) on the in-process runner, then on 1 and 2 Celery workers over a real
redis-server, with each worker's resident memory. Run: .venv/bin/python -m scripts.bench.csv_jobs
[--rows 100000] [--chunk 2000]. Needs redis-server (./scripts/install-services)."""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

import psutil

from tests.support.jobqueue import redis_server, start_worker, stop_worker, worker_env
from webapp import create_app
from webapp.demos import train_demos
from webapp.serving.service import ModelService

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def iris_csv(rows: int) -> bytes:
    lines = [",".join(f'"{f}"' for f in FEATURES)]
    lines += [f"{5 + (i % 30) / 10},{3 + (i % 7) / 10},{1 + (i % 50) / 10},{(i % 25) / 10}"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def app_for(store: Path, instance: Path, chunk: int, broker: str = ""):
    app = create_app({"MODEL_STORE": str(store), "INSTANCE_PATH": str(instance), "CREATE_ADMIN": False,
                      "BACKGROUND_LOADING": False, "SECRET_KEY": "bench", "BATCH_CHUNK_ROWS": chunk,
                      "DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}", "JOBS_BROKER_URL": broker})
    app.extensions["podium.service"].refresh()
    if app.extensions["podium.monitoring"] is not None:
        app.extensions["podium.monitoring"].log.start()  # the in-process runner logs as a server would
    return app


def run_job(app, data: bytes, timeout: float = 300) -> float:
    """Seconds from the upload to the finished output."""
    jobs = app.extensions["podium.jobs"]
    started = time.perf_counter()
    job = jobs.create("iris", io.BytesIO(data), "bench.csv")
    deadline = time.monotonic() + timeout
    while (doc := jobs.progress(job))["state"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(doc)
        time.sleep(0.02)
    assert doc["state"] == "done", doc
    return time.perf_counter() - started


def rss_mib(process) -> list[float]:
    """Resident MiB of the Celery parent and each pool process."""
    parent = psutil.Process(process.pid)
    return [round(p.memory_info().rss / 2**20) for p in (parent, *parent.children(recursive=True))]


def queued(store: Path, root: Path, data: bytes, chunk: int, workers: int) -> tuple[float, list]:
    instance = root / f"queued-{workers}"
    with redis_server(root) as broker:
        app = app_for(store, instance, chunk, broker)
        env = worker_env(store, instance, broker)
        procs = [start_worker(env, root / f"worker-{workers}-{n}.log") for n in range(workers)]
        try:
            run_job(app, iris_csv(chunk * 4 * workers))  # warm-up: every worker loads the store
            seconds = run_job(app, data)
            return seconds, [rss_mib(p) for p in procs]
        finally:
            for p in procs:
                stop_worker(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="podium-csv-bench-"))
    try:
        store = root / "store"
        train_demos(store, only={"iris"})
        ModelService(str(store)).refresh()  # convert once, as a server's first start would
        data = iris_csv(args.rows)
        local = app_for(store, root / "local", args.chunk)
        run_job(local, iris_csv(args.chunk))
        seconds = run_job(local, data)
        own = round(psutil.Process().memory_info().rss / 2**20)
        print(f"in process: {args.rows} rows in {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s "
              f"(this process: {own} MiB)")
        for workers in (1, 2):
            seconds, rss = queued(store, root, data, args.chunk, workers)
            print(f"{workers} Celery worker(s): {args.rows} rows in {seconds:.1f} s = "
                  f"{args.rows / seconds:,.0f} rows/s; RSS MiB per worker [parent, pool]: {rss}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

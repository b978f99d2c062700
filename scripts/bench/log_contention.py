"""What the prediction log takes from a worker's throughput, in process: eight threads send iris
requests through the whole Flask app (test client, Basic auth, JSON in and out, a pipe round trip
standing in for the socket's system calls, which let go of the GIL) while the log's writer thread
runs as in a gunicorn worker; monitoring off against on at 100 %, interleaved. One process shares
one GIL, as a worker does, so the writer's share of it shows as fewer requests per second.
Run: .venv/bin/python -m scripts.bench.log_contention [store] (default: model_store)
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from webapp import create_app
from webapp.accounts.users import UserStore

THREADS, SECONDS, ROUNDS = 8, 3.0, 3
BODY = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
AUTH = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-password-1").decode(),
        "Content-Type": "application/json"}


def app_for(store: str, instance: Path, monitoring: bool):
    instance.mkdir(parents=True)
    UserStore(instance / "users.json").add("bench", "bench-password-1", "user")
    app = create_app({"MODEL_STORE": store, "BACKGROUND_LOADING": False, "CREATE_ADMIN": False,
                      "SECRET_KEY": "bench", "MONITORING": monitoring, "INSTANCE_PATH": str(instance),
                      "USERS_FILE": str(instance / "users.json"),
                      "DATABASE_URL": f"sqlite:///{instance / 'log.sqlite3'}"})
    app.extensions["podium.service"].refresh()
    if app.extensions["podium.monitoring"] is not None:
        app.extensions["podium.monitoring"].log.start()  # what gunicorn's post_worker_init starts
    return app


def run(app) -> tuple[float, float]:
    """(requests per second, process CPU µs per request) over SECONDS with THREADS threads."""
    done, stop = [0] * THREADS, threading.Event()

    def client(t: int) -> None:
        http, (r, w) = app.test_client(), os.pipe()
        while not stop.is_set():
            assert http.post("/api/v1/models/iris:predict", data=BODY, headers=AUTH).status_code == 200
            os.write(w, b"x")
            os.read(r, 1)
            done[t] += 1
        os.close(r)
        os.close(w)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    cpu, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed, total = time.perf_counter() - started, sum(done)
    return total / elapsed, (time.process_time() - cpu) / total * 1e6


def main() -> None:
    store = sys.argv[1] if len(sys.argv) > 1 else "model_store"
    instance = Path(tempfile.mkdtemp(prefix="log-contention-"))
    apps = {"off": app_for(store, instance / "off", False),
            "on (100%)": app_for(store, instance / "on", True)}
    for app in apps.values():
        run(app)  # warm: caches, auth, first batches
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for _ in range(ROUNDS):
        for name, app in apps.items():
            figures[name].append(run(app))
    print(f"| log | req/s, median (min-max) of {ROUNDS} × {SECONDS:.0f} s | CPU µs per request, median |")
    print("|---|---|---|")
    for name, values in figures.items():
        rps = [v[0] for v in values]
        print(f"| {name} | {statistics.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f}) | "
              f"{statistics.median(v[1] for v in values):.0f} |")
    off, on = (statistics.median(v[0] for v in values) for values in figures.values())
    print(f"\ncost of the log: {100 * (1 - on / off):.1f}% of throughput (medians, in process)")
    watch = apps["on (100%)"].extensions["podium.monitoring"]
    print(f"log: {watch.log.stats()['written_rows']} rows written, dropped {watch.log.stats()['dropped']}")


if __name__ == "__main__":
    main()

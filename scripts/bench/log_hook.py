"""What the prediction log's hook costs on the request path, in process: the one prediction call as
HTTP makes it (`webapp.http.predict.predict`, inside a request context) with monitoring off and on,
and the record and queue append alone. Run: .venv/bin/python -m scripts.bench.log_hook [store]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from webapp import create_app
from webapp.serving.inputs import Tensor

ROW = Tensor(np.asarray([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32))
CALLS = 20_000


def app_for(store: str, instance: Path, monitoring: bool):
    app = create_app({"TESTING": True, "MODEL_STORE": store, "BACKGROUND_LOADING": False,
                      "CREATE_ADMIN": False, "SECRET_KEY": "bench", "MONITORING": monitoring,
                      "USERS_FILE": str(instance / "users.json"),
                      "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite3'}",
                      "LOG_QUEUE_SIZE": CALLS * 4})
    app.extensions["podium.service"].refresh()
    return app


def per_call_us(app) -> float:
    from flask import g

    from webapp.http.predict import predict, target

    with app.test_request_context("/api/v1/models/iris:predict", method="POST"):
        app.preprocess_request()  # request ids, the timer: what a real request has on g
        g.user = "bench"
        where = target("iris")
        for _ in range(500):
            predict(where, lambda _: ROW)
        started = time.perf_counter()
        for _ in range(CALLS):
            predict(where, lambda _: ROW)
        return (time.perf_counter() - started) / CALLS * 1e6


def main() -> None:
    store = sys.argv[1] if len(sys.argv) > 1 else "model_store"
    instance = Path(tempfile.mkdtemp(prefix="log-hook-"))
    apps = {"off": app_for(store, instance, False),
            "on, 100% (the writer's work is on its own thread)": app_for(store, instance, True)}
    figures: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(5):  # interleaved, so the machine's drift hits both
        for name, app in apps.items():
            figures[name].append(per_call_us(app))
            watch = app.extensions["podium.monitoring"]
            if watch is not None:
                watch.log._queue.clear()  # keep the queue from filling between rounds
    print("| monitoring | µs per prediction call, median (min-max) of 5 × 20,000 |\n|---|---|")
    for name, values in figures.items():
        print(f"| {name} | {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f}) |")
    off, on = (statistics.median(v) for v in figures.values())
    print(f"\nthe hook: {on - off:.1f} µs per request (the difference of the medians)")


if __name__ == "__main__":
    main()

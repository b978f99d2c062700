"""Lifecycle under load on a real gunicorn with two workers (ROBUSTNESS 48 and 56).

While threads keep predicting over fresh connections, a version is published through the API and
then rolled back in one call; every worker switches and not one prediction fails. A traffic split
with a fixed X-Request-Key is sticky.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration
REPO = "/api/v2/repository/models/iris"
ROW = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
FRESH = {"Connection": "close"}  # a new connection per request, so the kernel spreads them over workers


class Load:
    """A bounded prediction loop in a few threads: stops at `limit` requests, `seconds` or stop()."""

    def __init__(self, url: str, threads: int = 4, limit: int = 3000, seconds: float = 150.0) -> None:
        self.url, self.limit, self.deadline = url, limit, time.monotonic() + seconds
        self.results: list[tuple[int, str | None, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            with self._lock:
                if len(self.results) >= self.limit:
                    return
            try:
                r = requests.post(self.url + "/api/v1/models/iris:predict", json=ROW, auth=USER,
                                  headers=FRESH, timeout=30)
                result = (r.status_code, r.headers.get("X-Model-Version"), r.text[:200])
            except requests.RequestException as exc:
                result = (0, None, repr(exc))
            with self._lock:
                self.results.append(result)
            time.sleep(0.01)  # leave the shared cores some room

    def failures(self) -> list[tuple[int, str | None, str]]:
        return [r for r in self.results if r[0] != 200]


def worker_views(url: str, attempts: int = 30) -> dict[int, dict]:
    """pid → that worker's view of iris, over fresh connections."""
    seen = {}
    for _ in range(attempts):
        doc = requests.get(url + "/api/stats", auth=ADMIN, headers=FRESH, timeout=10).json()
        seen[doc["process"]["pid"]] = doc["models"].get("iris", {"versions": {}, "labels": {}})
    return seen


def wait_for_workers(url: str, condition: Callable[[dict], bool], what: str, timeout: float = 60) -> float:
    """Seconds until both workers satisfy `condition`; fails the test after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        views = worker_views(url)
        if len(views) == 2 and all(condition(v) for v in views.values()):
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{what} did not reach both workers: {views}")


def _log_tail(server) -> str:
    return "\n".join(line for line in server.output().splitlines()
                     if "oneDNN" not in line and "absl" not in line)[-4000:]


def test_publish_rollback_and_split_under_load(model_store, tmp_path):
    with gunicorn(model_store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        url = server.url
        files = {"manifest": io.BytesIO((model_store / "iris" / "1" / "model.json").read_bytes()),
                 "artifact": io.BytesIO((model_store / "iris" / "1" / "model.skops").read_bytes())}
        # gunicorn's readiness probe answered from one worker: wait for the other one too
        wait_for_workers(url, lambda v: v.get("default_version") == 2, "startup")
        with Load(url) as load:
            time.sleep(1.0)
            started = time.monotonic()
            r = requests.post(f"{url}{REPO}/versions", files=files, auth=ADMIN, timeout=120)
            assert r.status_code == 201, r.text
            assert r.json() == {"name": "iris", "version": 3}
            validated = time.monotonic() - started
            spread = wait_for_workers(url, lambda v: v.get("default_version") == 3, "version 3")
            # the load's connections land where the kernel puts them: let each worker answer on 3
            wait_for_workers(url, lambda v: v["versions"].get("3", {}).get("requests", 0) > 0,
                             "predictions on version 3")

            r = requests.post(f"{url}{REPO}/rollback", auth=ADMIN, timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["version"] == 2
            back = wait_for_workers(url, lambda v: v.get("default_version") == 2, "the rollback")
            time.sleep(1.0)
        print(f"\npublish (validation in a subprocess) {validated:.2f}s; version 3 on both workers "
              f"{spread:.2f}s later; rollback on both workers in {back:.2f}s; "
              f"{len(load.results)} predictions meanwhile: {Counter(v for _, v, _ in load.results)}")
        versions = [v for _, v, _ in load.results]
        assert "3" in versions
        assert "2" in versions[versions.index("3"):], "the rollback should have happened under load"
        failures = load.failures()
        assert failures == [], f"{len(failures)} failed: {failures[:3]}\n{_log_tail(server)}"
        served = {pid: {v: info["requests"] for v, info in view["versions"].items()}
                  for pid, view in worker_views(url).items()}
        assert all(counts.get("3", 0) > 0 for counts in served.values()), served

        # a split, sticky per X-Request-Key; a label written after it tells when a worker has read it
        r = requests.put(f"{url}{REPO}/split", json={"weights": {"2": 50, "3": 50}}, auth=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        requests.put(f"{url}{REPO}/labels/marker", json={"version": 3}, auth=ADMIN, timeout=30)
        wait_for_workers(url, lambda v: "marker" in v["labels"], "the split")

        def version_for(key: str) -> str:
            r = requests.post(url + "/api/v1/models/iris:predict", json=ROW, auth=USER, timeout=30,
                              headers={**FRESH, "X-Request-Key": key})
            assert r.status_code == 200, r.text
            return r.headers["X-Model-Version"]

        assert len({version_for("customer-42") for _ in range(30)}) == 1
        assert {version_for(f"customer-{i}") for i in range(40)} == {"2", "3"}

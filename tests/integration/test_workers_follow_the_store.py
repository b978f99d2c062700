"""A real gunicorn with two workers: models load after fork and a published version reaches both."""

from __future__ import annotations

import shutil
import time

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.helpers import version_files
from tests.support.server import gunicorn
from webapp.serving.models.store import ModelStore

pytestmark = pytest.mark.integration


def _worker_views(url: str, auth: tuple[str, str], attempts: int = 300, workers: int = 2) -> dict[int, dict]:
    """pid → model stats, gathered over fresh connections so the kernel spreads them.

    Stops once every worker answered; the kernel may favour one worker for a while under load.
    """
    seen: dict[int, dict] = {}
    for _ in range(attempts):
        doc = requests.get(url + "/api/stats", auth=auth, headers={"Connection": "close"},
                           timeout=10).json()
        seen[doc["process"]["pid"]] = doc["models"]
        if len(seen) >= workers:
            break
    return seen


def test_two_workers_serve_digits_and_see_a_new_version(model_store, tmp_path):
    with gunicorn(model_store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        # TensorFlow loaded after the fork: the Keras CNN answers through the workers
        image = (model_store / "digits" / "1" / "heldout.json").read_text()
        import json

        held = json.loads(image)
        r = requests.post(server.url + "/api/v1/models/digits:predict", auth=USER,
                          json={"instances": held["x"][:8]}, timeout=30)
        assert r.status_code == 200, r.text
        predicted = [max(range(10), key=row.__getitem__) for row in r.json()["predictions"]]
        assert predicted == held["y"][:8]

        before = _worker_views(server.url, ADMIN)
        assert len(before) == 2, "expected both workers to answer"

        # publish iris version 3 while the server runs
        with_files = version_files(model_store / "iris" / "1")
        assert ModelStore(model_store).publish("iris", with_files) == 3

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            views = _worker_views(server.url, ADMIN, attempts=100)
            if len(views) == 2 and all("3" in v["iris"]["versions"] and
                                       v["iris"]["versions"]["3"]["state"] == "AVAILABLE"
                                       for v in views.values()):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"version 3 did not reach both workers: {views}")

        r = requests.post(server.url + "/api/v1/models/iris:predict", auth=USER,
                          json={"instances": [[5.1, 3.5, 1.4, 0.2]]}, timeout=10)
        assert r.status_code == 200
        assert r.headers["X-Model-Version"] == "3"

        # removing it makes every worker fall back to version 2
        shutil.rmtree(model_store / "iris" / "3")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = requests.post(server.url + "/api/v1/models/iris:predict", auth=USER,
                              json={"instances": [[5.1, 3.5, 1.4, 0.2]]}, timeout=10,
                              headers={"Connection": "close"})
            if r.headers.get("X-Model-Version") == "2":
                break
            time.sleep(0.3)
        assert r.headers["X-Model-Version"] == "2"

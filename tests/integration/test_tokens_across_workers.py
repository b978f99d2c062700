"""A token's life through a real gunicorn with two workers: made with the API, used with curl-style
Bearer and with tritonclient's BasicAuth, revoked, and refused by both workers within the poll
interval."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.http.auth import BasicAuth
from tritonclient.utils import InferenceServerException

from tests.conftest import ADMIN, USER
from tests.support.helpers import IRIS_ROW
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration
POLL = 1.0


FRESH = {"Connection": "close"}  # a new connection per request, so the kernel spreads them over workers


def workers_accepting(url: str, headers: dict[str, str], tries: int = 60) -> set[int]:
    """The pids of the workers that accepted the credentials (over fresh connections)."""
    seen: set[int] = set()
    for _ in range(tries):
        r = requests.get(f"{url}/api/stats", headers={**headers, **FRESH}, timeout=30)
        assert r.status_code == 200, r.text
        seen.add(r.json()["process"]["pid"])
        if len(seen) == 2:
            break
    return seen


def statuses(url: str, headers: dict[str, str], count: int = 40) -> set[int]:
    return {requests.post(f"{url}/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                          headers={**headers, **FRESH}, timeout=30).status_code for _ in range(count)}


def test_a_token_works_everywhere_until_revoked(demo_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)
    with gunicorn(store, tmp_path / "instance", users={"admin": ADMIN, "user": USER}, workers=2,
                  PODIUM_TOKEN_POLL_SECONDS=str(POLL), PODIUM_ACCESS_LOG="-") as server:
        made = requests.post(f"{server.url}/api/tokens", json={"name": "nightly", "scope": "predict"},
                             auth=USER, timeout=30)
        assert made.status_code == 201, made.text
        secret, token_id = made.json()["token"], made.json()["id"]
        bearer = {"Authorization": f"Bearer {secret}"}
        assert len(workers_accepting(server.url, bearer)) == 2  # the other worker read it from the db
        assert statuses(server.url, bearer, 10) == {200}

        client = triton.InferenceServerClient(url=server.url.removeprefix("http://") + "/api")
        client.register_plugin(BasicAuth("bob", secret))
        tensor = triton.InferInput("input", [1, 4], "FP32")
        tensor.set_data_from_numpy(np.array([IRIS_ROW], dtype=np.float32))
        assert client.infer("iris", [tensor]).as_numpy("label").tolist() == [b"setosa"]

        revoked = requests.delete(f"{server.url}/api/tokens/{token_id}", auth=USER, timeout=30)
        assert revoked.json()["state"] == "revoked"
        time.sleep(POLL + 0.2)
        assert statuses(server.url, bearer) == {401}  # 40 fresh connections: both workers refuse
        with pytest.raises(InferenceServerException) as refused:
            client.infer("iris", [tensor])
        assert refused.value.status() == "401"
        assert "revoked" in refused.value.message()
        log_text = server.output()
    assert "/api/v1/models/iris:predict" in log_text  # the access log was on
    assert secret not in log_text

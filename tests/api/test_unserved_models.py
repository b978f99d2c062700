"""An unloaded or unknown model answers 404 in each protocol's words; 503 (with Retry-After) stays
for a version that is loading, and a failed version is 503 without Retry-After."""

from __future__ import annotations

import pytest

from tests.conftest import USER
from tests.support.helpers import IRIS_ROW, assert_clean_error
from webapp import create_app

V1_BODY = {"instances": [IRIS_ROW]}
V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}


def v1(client, headers, path: str):
    return client.post(f"/api/v1/models/{path}:predict", json=V1_BODY, headers=headers)


def v2(client, headers, path: str):
    return client.post(f"/api/v2/models/{path}/infer", json=V2_BODY, headers=headers)


def test_an_unloaded_model_is_404_in_both_protocols(app, user_headers, admin_headers):
    client = app.test_client()
    r = client.post("/api/v2/repository/models/iris/unload", headers=admin_headers,
                    json={"parameters": {"unload_dependents": False}})
    assert r.status_code == 200, r.get_data(as_text=True)
    old = v1(client, user_headers, "iris")
    assert assert_clean_error(old, 404) == "Servable not found for request: Latest(iris)"
    assert "Retry-After" not in old.headers
    new = v2(client, user_headers, "iris")
    assert assert_clean_error(new, 404, "iris", "has no available versions", "unloaded")
    assert "Retry-After" not in new.headers
    pinned = v2(client, user_headers, "iris/versions/2")
    assert_clean_error(pinned, 404, "'iris' version 2")
    # the model still exists: its status says not ready rather than unknown
    ready = client.get("/api/v2/models/iris/ready", headers=user_headers)
    assert (ready.status_code, ready.get_json()["ready"]) == (503, False)
    assert client.get("/api/v1/models/iris", headers=user_headers).get_json()["ready"] is False
    assert client.post("/api/v2/repository/models/iris/load", headers=admin_headers).status_code == 200
    assert v1(client, user_headers, "iris").status_code == 200


@pytest.mark.parametrize(("path", "v1_text", "v2_text"), [
    ("nope", "Servable not found for request: Latest(nope)",
     "Request for unknown model: 'nope' is not found"),
    ("iris/versions/9", "Servable not found for request: Specific(iris, 9)",
     "Request for unknown model: 'iris' version 9 is not found"),
])
def test_an_unknown_model_or_version_is_404(client, user_headers, path, v1_text, v2_text):
    assert assert_clean_error(v1(client, user_headers, path), 404) == v1_text
    assert assert_clean_error(v2(client, user_headers, path), 404) == v2_text


def test_a_loading_worker_is_503_with_retry_after(model_store, tmp_path, user_headers):
    """A worker that has not read the store yet says 'retry soon', never 404."""
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True, "MODEL_STORE": str(model_store), "BACKGROUND_LOADING": False,
                      "CREATE_ADMIN": False, "USERS_FILE": str(instance / "users.json"),
                      "SECRET_KEY": "test-secret", "POLL_INTERVAL": 2.0, "INSTANCE_PATH": str(instance),
                      "DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}"})
    app.extensions["podium.users"].add(*USER, role="user")  # the store is never read: still booting
    client = app.test_client()
    for answer in (v1(client, user_headers, "iris"), v2(client, user_headers, "iris")):
        assert_clean_error(answer, 503, "still loading")
        assert answer.headers["Retry-After"] == "2"


def test_a_failed_version_is_503_without_retry_after(app, model_store, user_headers):
    (model_store / "wine" / "1" / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    manifest = model_store / "wine" / "1" / "model.json"
    manifest.write_text(manifest.read_text())  # a new identity: the worker reloads it
    app.extensions["podium.service"].refresh()
    body = {"inputs": [{"name": "input", "shape": [1, 13], "datatype": "FP32", "data": [0.0] * 13}]}
    failed = app.test_client().post("/api/v2/models/wine/infer", json=body, headers=user_headers)
    assert_clean_error(failed, 503, "FAILED")
    assert "Retry-After" not in failed.headers

"""ModelService against a real store: reloads, FAILED versions with reasons, readiness (rows 49, 50, 78)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.conftest import make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error, predict, version_files
from webapp.serving.loaded import State
from webapp.serving.models.store import ModelStore

ROWS = np.asarray([IRIS_ROW, [6.0, 2.7, 5.1, 1.6], [6.3, 2.8, 5.1, 1.5]], dtype=np.float32)


def _service(app):
    return app.extensions["podium.service"]


def test_a_replaced_version_folder_is_reloaded(app):
    service = _service(app)
    v1 = predict(service, "iris", ROWS, version=1).values
    v2 = predict(service, "iris", ROWS, version=2).values
    assert not np.allclose(v1, v2), "the two demo versions should differ"
    root = service.store.root / "iris"
    shutil.copytree(root / "2", root / ".incoming")
    os.rename(root / "1", root / ".old-1")
    os.rename(root / ".incoming", root / "1")
    service.refresh()
    assert np.allclose(predict(service, "iris", ROWS, version=1).values, v2)


def test_refresh_keeps_unchanged_versions_loaded(app):
    service = _service(app)
    before = service.model("digits").versions[1].loaded_at
    service.refresh()
    assert service.model("digits").versions[1].loaded_at == before


def _publish_broken(store_root, name: str, manifest: bytes | None, artifact: bytes | None) -> int:
    """A new version of `name` whose manifest or artifact is broken."""
    source = store_root / name / "1"
    files = version_files(source)
    spec = json.loads(files["model.json"])
    if manifest is not None:
        files["model.json"] = manifest
    if artifact is not None:
        files[spec["artifact"]] = artifact
    return ModelStore(store_root).publish(name, files)


@pytest.mark.parametrize(("manifest", "artifact", "reason"), [
    (None, b"random bytes, not a skops zip", "skops"),                   # corrupt artifact
    (None, b"", "skops"),                                                # empty artifact
    (b"{not json", None, "Invalid manifest"),                            # bad manifest
    (json.dumps({"framework": "tensorflow"}).encode(), None, "framework must be one of"),
    (json.dumps({"framework": "sklearn", "artifact": "model.skops", "task": "classification",
                 "inputs": {"features": ["a", "b"]}, "outputs": {"labels": ["x", "y", "z"]}}).encode(),
     None, "manifest names 2 features but the model expects 4"),
])
def test_a_broken_new_version_fails_with_a_reason_while_the_old_one_serves(app, user_headers, manifest,
                                                                            artifact, reason):
    service = _service(app)
    number = _publish_broken(service.store.root, "iris", manifest, artifact)
    service.refresh()
    broken = service.model("iris").versions[number]
    assert broken.state is State.FAILED
    assert reason in broken.reason
    client = app.test_client()
    r = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    assert r.status_code == 200
    assert r.headers["X-Model-Version"] == "2"
    r = client.post(f"/api/v1/models/iris/versions/{number}:predict", json={"instances": [IRIS_ROW]},
                    headers=user_headers)
    assert_clean_error(r, 503, reason)
    status = client.get(f"/api/v1/models/iris/versions/{number}", headers=user_headers).get_json()
    (entry,) = status["model_version_status"]
    assert entry["state"] == "END"
    assert entry["status"]["error_code"] == "UNKNOWN"
    assert reason in entry["status"]["error_message"]
    # readiness is strict: a version the store says to serve has failed
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["models"]["iris"][str(number)] == "FAILED"
    # removing the broken version makes the server ready again
    ModelStore(service.store.root).delete_version("iris", number)
    service.refresh()
    assert client.get("/readyz").status_code == 200


@pytest.fixture
def broken_at_start(model_store, tmp_path):
    """Row 49/50: digits' artifact truncated on disk before the server starts."""
    artifact = model_store / "digits" / "1" / "model.keras"
    data = artifact.read_bytes()
    artifact.write_bytes(data[: len(data) // 2])
    return make_app(model_store, tmp_path / "instance")


def test_startup_with_a_corrupt_model_live_not_ready_others_serve(broken_at_start, user_headers):
    client = broken_at_start.test_client()
    digits = _service(broken_at_start).model("digits").versions[1]
    assert digits.state is State.FAILED
    assert "keras" in digits.reason.lower()
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["ready"] is False
    assert ready.get_json()["models"]["digits"] == {"1": "FAILED"}
    assert ready.get_json()["models"]["iris"] == {"1": "AVAILABLE", "2": "AVAILABLE"}
    status = client.get("/api/v1/models/digits", headers=user_headers)
    assert status.status_code == 200
    assert status.get_json()["ready"] is False
    r = client.post("/api/v1/models/digits:predict", json={"instances": [[[0] * 8] * 8]},
                    headers=user_headers)
    assert_clean_error(r, 503, "no available version")
    for name, row in (("iris", IRIS_ROW), ("wine", [13.0, 2.0, 2.4, 19.0, 100.0, 2.3, 2.0, 0.3, 1.6,
                                                    5.0, 1.0, 2.8, 750.0])):
        r = client.post(f"/api/v1/models/{name}:predict", json={"instances": [row]}, headers=user_headers)
        assert r.status_code == 200, r.get_data(as_text=True)


def test_an_unloaded_model_is_not_expected_for_readiness(app, user_headers):
    """Row 78: readiness covers the models the store says to serve; unloaded ones are not expected."""
    service = _service(app)
    folder = service.store.root / "digits"
    shutil.copytree(folder / "1", folder / ".incoming")  # replace the version folder, as a deploy would
    (folder / ".incoming" / "model.keras").write_bytes(b"broken")
    os.rename(folder / "1", folder / ".old")
    os.rename(folder / ".incoming", folder / "1")
    service.refresh()
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    service.store.write_config("digits", {"unloaded": True})
    service.refresh()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["models"]["digits"] == {}
    r = client.post("/api/v1/models/digits:predict", json={"instances": [[[0] * 8] * 8]},
                    headers=user_headers)
    assert_clean_error(r, 404, "Servable not found")  # unloaded: not found, not 'retry soon'


def test_default_version_and_labels_route_requests(app, user_headers):
    service = _service(app)
    client = app.test_client()
    service.store.write_config("iris", {"default_version": 1, "labels": {"stable": 2}})
    service.refresh()
    assert service.model("iris").default_version == 1
    r = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    assert r.headers["X-Model-Version"] == "1"
    r = client.post("/api/v1/models/iris/labels/stable:predict", json={"instances": [IRIS_ROW]},
                    headers=user_headers)
    assert r.headers["X-Model-Version"] == "2"
    service.store.write_config("iris", {})
    service.refresh()
    assert service.model("iris").default_version == 2


def test_not_ready_before_the_first_scan(model_store):
    from webapp.serving.service import ModelService

    service = ModelService(str(model_store))
    assert service.ready() is False
    service.refresh()
    assert service.ready() is True

"""Verified acceleration: converted forms match the native models, are cached, and fall back safely."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from webapp.serving.acceleration import choose
from webapp.serving.acceleration.convert import CACHE, VERDICT, check_rows, compare
from webapp.serving.inputs import Tensor
from webapp.serving.models.spec import load_manifest
from webapp.serving.service import ModelService, ServingOptions, Target

DEMOS = [("iris", 1), ("iris", 2), ("diabetes", 1), ("digits", 1), ("wine", 1)]
FAST = {"keras": "tflite (ai-edge-litert)", "sklearn": "onnxruntime"}


def service(store, **options) -> ModelService:
    """A worker's serving core over `store`, loaded once (the app factory adds nothing here)."""
    svc = ModelService(str(store), ServingOptions(**options))
    svc.refresh()
    return svc


def status(svc: ModelService, name: str, version: int):
    return svc.version(Target(name, version))


def run(svc: ModelService, name: str, version: int, rows: np.ndarray) -> np.ndarray:
    """The version's answer for `rows`, through the service's one call."""
    return svc.predict(Target(name, version), lambda _: Tensor(rows)).values


@pytest.fixture(scope="module")
def native(demo_store):
    return service(demo_store, accelerate=False)


@pytest.mark.parametrize(("name", "version"), DEMOS)
def test_each_demo_runs_its_verified_fast_form_with_the_native_answers(shared_app, native,
                                                                       name, version):
    served = shared_app.extensions["podium.service"]
    fast, slow = status(served, name, version), status(native, name, version)
    assert fast.call_path == FAST[fast.spec.framework]
    assert fast.acceleration["accelerated"] is True
    assert "verified on" in fast.acceleration["reason"]
    rows, held = check_rows(fast.spec)
    ours, theirs = run(served, name, version, rows), run(native, name, version, rows)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    if fast.spec.task == "classification":
        assert (ours.argmax(axis=1) == theirs.argmax(axis=1))[:held].all()
    assert slow.call_path != fast.call_path
    assert "off" in slow.acceleration["reason"]


def test_metadata_and_stats_say_which_path_and_why(client, user_headers, admin_headers):
    meta = client.get("/api/v1/models/digits/metadata", headers=user_headers).get_json()
    assert meta["podium"]["call_path"] == "tflite (ai-edge-litert)"
    assert meta["podium"]["acceleration"]["timings"]["accelerated_ms"] > 0
    stats = client.get("/api/stats", headers=admin_headers).get_json()
    assert stats["models"]["iris"]["versions"]["1"]["call_path"] == "onnxruntime"


def test_batches_of_other_sizes_resize_the_interpreter(shared_app):
    served = shared_app.extensions["podium.service"]
    rows, _ = check_rows(status(served, "digits", 1).spec)
    together = run(served, "digits", 1, rows[:5])
    one_by_one = np.concatenate([run(served, "digits", 1, rows[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)



def test_the_monitors_batches_answer_as_requests_do_without_a_second_interpreter(model_store):
    """The monitor predicts reference rows through `run_batch`: row by row on a TFLite version, so
    no interpreter sized for a batch no client sent stays in the worker's memory."""
    svc = service(model_store)
    rows, _ = check_rows(status(svc, "digits", 1).spec)
    background = svc.run_batch("digits", 1, rows[:5])
    assert svc._models["digits"].versions[1].runtime._bulk is None
    np.testing.assert_array_equal(background, run(svc, "digits", 1, rows[:5]))

def test_the_manifest_can_opt_out(model_store):
    manifest = model_store / "wine" / "1" / "model.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "accelerate": False}))
    wine = status(service(model_store), "wine", 1)
    assert wine.call_path == "keras-tf.function"
    assert "opts out" in wine.acceleration["reason"]


def test_a_restart_reuses_the_cache_and_a_changed_artifact_is_converted_again(model_store):
    verdict = model_store / "iris" / "1" / CACHE / VERDICT
    service(model_store)  # converts, or finds the demo store's cache
    first = verdict.stat().st_mtime_ns
    service(model_store)
    assert verdict.stat().st_mtime_ns == first, "a restart must not convert again"
    artifact = model_store / "iris" / "1" / "model.skops"
    os.utime(artifact, ns=(artifact.stat().st_atime_ns, artifact.stat().st_mtime_ns + 10**9))
    svc = service(model_store)
    assert verdict.stat().st_mtime_ns != first
    assert status(svc, "iris", 1).call_path == "onnxruntime"


def test_a_damaged_converted_artifact_falls_back_to_native(model_store):
    service(model_store)
    (model_store / "digits" / "1" / CACHE / "model.tflite").write_bytes(b"not a flatbuffer")
    digits = status(service(model_store), "digits", 1)
    assert digits.ready
    assert digits.call_path == "keras-tf.function"
    assert "cannot open the converted artifact" in digits.acceleration["reason"]


def test_a_converter_that_fails_leaves_the_version_on_its_native_path(model_store):
    shutil.rmtree(model_store / "iris" / "2" / CACHE, ignore_errors=True)
    spec = load_manifest(model_store / "iris" / "2", "iris", 2)
    verdict = choose.convert_in_child(spec, trusted=False, timeout=0.01)
    assert verdict == {"accelerated": False, "reason": "conversion took longer than 0.01s"}


def test_the_check_refuses_outputs_that_drift_or_change_the_top_class(shared_app):
    served = shared_app.extensions["podium.service"]
    spec = status(served, "iris", 1).spec
    rows, held = check_rows(spec)
    native = run(served, "iris", 1, rows).astype(np.float64)
    assert compare(native, native.astype(np.float32), spec, held)[0]
    drifted = native + 1e-3
    assert not compare(native, drifted.astype(np.float32), spec, held)[0]
    flipped = native.copy()
    flipped[0] = np.roll(flipped[0], 1)
    ok, figures = compare(native, flipped.astype(np.float32), spec, held)
    assert not ok
    assert figures["heldout_argmax_mismatches"] >= 1
    assert not compare(native, native[:, :2].astype(np.float32), spec, held)[0]


@pytest.mark.integration
def test_gunicorn_workers_serving_converted_versions_import_neither_tensorflow_nor_sklearn(
        model_store, tmp_path):
    from tests.conftest import ADMIN, USER
    from tests.support.server import gunicorn

    with gunicorn(model_store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        import requests

        held = json.loads((model_store / "digits" / "1" / "heldout.json").read_text())
        r = requests.post(server.url + "/api/v1/models/digits:predict", auth=USER,
                          json={"instances": held["x"][:8]}, timeout=30)
        assert r.status_code == 200, r.text
        assert [int(np.argmax(p)) for p in r.json()["predictions"]] == held["y"][:8]
        seen = {}
        for _ in range(20):
            doc = requests.get(server.url + "/api/stats", auth=ADMIN, timeout=10,
                               headers={"Connection": "close"}).json()
            seen[doc["process"]["pid"]] = doc["process"]["frameworks"]
        for frameworks in seen.values():
            assert "tensorflow" not in frameworks
            assert "sklearn" not in frameworks
            assert "ai_edge_litert" in frameworks

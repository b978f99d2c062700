"""ROBUSTNESS rows 49, 51, 52, 53 and 55 for the lifecycle: hostile files and broken versions."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile

import pytest

from tests.serving.test_lifecycle import ROW, iris_files, snapshot
from tests.support.helpers import predict
from webapp.serving.errors import Conflict, InvalidInput


@pytest.fixture
def lifecycle(app):
    return app.extensions["podium.lifecycle"]


def test_a_version_corrupted_on_disk_fails_alone(app, lifecycle, model_store):
    """Row 49: a broken version is FAILED with a reason; the served version and other models go on.

    Row 55: it cannot become the default, a label target or part of a split.
    """
    broken = model_store / "iris" / "3"
    shutil.copytree(model_store / "iris" / "2", broken)
    (broken / "model.skops").write_bytes((broken / "model.skops").read_bytes()[:300])
    service = app.extensions["podium.service"]
    service.refresh()
    view = service.model("iris")
    assert view.versions[3].state.value == "FAILED"
    assert view.versions[3].reason
    assert predict(service, "iris", ROW).version == 2
    assert predict(service, "diabetes", [[0.0] * 10]).version == 1
    before = snapshot(model_store)
    for change in (lambda: lifecycle.set_default("iris", 3, "alice"),
                   lambda: lifecycle.set_label("iris", "stable", 3, "alice"),
                   lambda: lifecycle.set_split("iris", {2: 50, 3: 50}, "alice")):
        with pytest.raises(Conflict, match="failed to load"):
            change()
    assert snapshot(model_store) == before
    # rolling back skips it too
    lifecycle.set_default("iris", 2, "alice")
    assert lifecycle.rollback("iris", "alice") == 1


def test_a_crafted_config_json_does_not_break_serving(app, lifecycle, model_store):
    """Row 52 (crafted config.json): malformed entries are ignored; lifecycle changes still work."""
    (model_store / "iris" / "config.json").write_text(json.dumps({
        "labels": {"stable": "../../etc", "x": True, "ok": 1}, "split": {"a": 50, "2": "x"},
        "default_version": "2", "version_policy": {"latest": -3}}))
    service = app.extensions["podium.service"]
    service.refresh()
    assert service.model("iris").labels == {"ok": 1}
    assert predict(service, "iris", ROW, caller="anyone").version == 2
    lifecycle.set_split("iris", {1: 50, 2: 50}, "alice")
    assert predict(service, "iris", ROW, caller="anyone").version in (1, 2)


@pytest.mark.parametrize(("change", "message"), [
    ({"artifact": "../model.skops"}, "artifact must be a file name"),
    ({"artifact": "/etc/passwd.skops"}, "artifact must be a file name"),
    ({"artifact": "model.h5", "framework": "keras"}, "artifact must be a file name ending in ('.keras',)"),
    ({"framework": "tensorflow"}, "framework must be one of"),
])
def test_manifests_that_escape_or_name_unsafe_formats_are_refused(lifecycle, model_store, change, message):
    """Rows 51 and 52: names escaping the folder and formats outside the allowlist write nothing."""
    files = iris_files(model_store, **change)
    before = snapshot(model_store)
    with pytest.raises(InvalidInput) as info:
        lifecycle.publish("iris", files, "alice")
    assert message in info.value.message
    assert snapshot(model_store) == before


def _keras_zip_claiming(size: int) -> bytes:
    """A tiny .keras archive whose central directory claims a member of `size` bytes (a zip bomb)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("model.weights.h5", b"\0" * 16)
    data = bytearray(buffer.getvalue())
    at = data.rfind(b"PK\x01\x02")  # the last central directory entry: the weights
    data[at + 24:at + 28] = struct.pack("<I", size)
    return bytes(data)


def test_a_keras_zip_bomb_is_refused_before_extraction(lifecycle, model_store):
    """Row 53: the archive's declared size is checked before Keras extracts anything."""
    manifest = json.loads((model_store / "iris" / "1" / "model.json").read_text())
    manifest.update(framework="keras", artifact="model.keras")
    before = snapshot(model_store)
    with pytest.raises(InvalidInput, match="size limit"):
        lifecycle.publish("iris", {"model.json": json.dumps(manifest).encode(),
                                   "model.keras": _keras_zip_claiming(0xFFFFFFF0)}, "alice")
    assert snapshot(model_store) == before


def test_routing_only_targets_available_versions():
    """A pinned default or split version that is still loading never turns requests into 503s."""
    from webapp.serving.loaded import LoadedVersion, State
    from webapp.serving.loader import Model
    from webapp.serving.models.versions import choose_split_version

    config = {"default_version": 1, "split": {"1": 50, "2": 50}}
    versions = {1: LoadedVersion("m", 1, State.LOADING), 2: LoadedVersion("m", 2, State.AVAILABLE)}
    model = Model("m", versions, (1, 2), config)
    assert model.default == 2
    assert {choose_split_version(model.split, f"caller-{i}") for i in range(50)} == {2}
    versions[1].state = State.AVAILABLE
    model = Model("m", versions, (1, 2), config)  # a change of state publishes a new snapshot
    assert model.default == 1
    assert {choose_split_version(model.split, f"caller-{i}") for i in range(50)} == {1, 2}


def test_a_booting_worker_answers_503_and_loads_the_default_first(model_store, monkeypatch):
    """Before its first full read of the store a worker says 'retry' (503), never 404; and it loads
    the version that will serve by default first, so it never serves an older one meanwhile."""
    from webapp.serving import loader
    from webapp.serving.errors import ModelUnavailable
    from webapp.serving.service import ModelService

    order = []
    real_load = loader.load_version

    def load(name, number, *rest):
        order.append((name, number))
        return real_load(name, number, *rest)

    monkeypatch.setattr(loader, "load_version", load)
    service = ModelService(str(model_store))
    with pytest.raises(ModelUnavailable, match="still loading"):
        predict(service, "iris", ROW)
    service.refresh()
    assert [n for name, n in order if name == "iris"] == [2, 1]  # newest first
    (model_store / "iris" / "config.json").write_text(json.dumps({"default_version": 1}))
    order.clear()
    ModelService(str(model_store)).refresh()
    assert [n for name, n in order if name == "iris"] == [1, 2]  # the pinned default first

"""Lifecycle on a private store: uploads are validated before they appear, refusals change nothing."""

from __future__ import annotations

import errno
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_app
from tests.support.helpers import predict, version_files
from webapp.serving.errors import Conflict, InvalidInput, ModelNotFound, PayloadTooLarge, StorageFailure
from webapp.serving.models.versions import choose_split_version

ROW = [[5.1, 3.5, 1.4, 0.2]]


@pytest.fixture
def lifecycle(app):
    return app.extensions["podium.lifecycle"]


def files_of(folder: Path) -> dict[str, bytes]:
    return version_files(folder)


def iris_files(store: Path, version: int = 1, **manifest_changes) -> dict[str, bytes]:
    files = files_of(store / "iris" / str(version))
    manifest = {**json.loads(files["model.json"]), **manifest_changes}
    files["model.json"] = json.dumps(manifest).encode()
    return files


def snapshot(store: Path) -> dict[str, object]:
    """Everything a refusal must leave untouched: file names (hidden ones too) and configs."""
    return {str(p.relative_to(store)): p.read_bytes() if p.name == "config.json" else None
            for p in sorted(store.rglob("*")) if not p.name.startswith((".audit", ".lifecycle.lock"))}


def served_version(app, caller: str | None = None) -> int:
    return predict(app.extensions["podium.service"], "iris", ROW, caller=caller).version


# -- publish ------------------------------------------------------------------------------------
def test_publish_validates_then_serves_the_new_version(app, lifecycle, model_store):
    version = lifecycle.publish("iris", iris_files(model_store), "alice")
    assert version == 3
    assert served_version(app) == 3
    entry = lifecycle.audit(1)[0]
    assert (entry["user"], entry["action"], entry["model"]) == ("alice", "publish", "iris")
    assert entry["version"] == 3
    assert entry["call_path"] == "sklearn"


def test_publish_creates_a_new_model(app, lifecycle, model_store):
    assert lifecycle.publish("iris-copy", iris_files(model_store), "alice") == 1
    assert predict(app.extensions["podium.service"], "iris-copy", ROW).version == 1


@pytest.mark.parametrize(("case", "message"), [
    ("corrupt", "refused"),
    ("truncated", "refused"),
    ("mismatched", "features"),
    ("pickle", "pickle"),
    ("no-manifest", "no manifest"),
    ("bad-json", "not valid JSON"),
    ("missing-artifact", "no such file"),
    ("extra-file", "Unexpected files"),
])
def test_bad_uploads_are_refused_and_leave_nothing_behind(lifecycle, model_store, case, message):
    files = iris_files(model_store)
    if case == "corrupt":
        files["model.skops"] = np.random.default_rng(0).bytes(4096)
    elif case == "truncated":
        files["model.skops"] = files["model.skops"][: len(files["model.skops"]) // 2]
    elif case == "mismatched":
        manifest = json.loads(files["model.json"])
        manifest["inputs"]["features"] = manifest["inputs"]["features"][:3]
        files["model.json"] = json.dumps(manifest).encode()
    elif case == "pickle":
        files = _pickled_iris(model_store, files)
    elif case == "no-manifest":
        del files["model.json"]
    elif case == "bad-json":
        files["model.json"] = b"{not json"
    elif case == "missing-artifact":
        del files["model.skops"]
    elif case == "extra-file":
        files["run.sh"] = b"#!/bin/sh\n"
    before = snapshot(model_store)
    with pytest.raises(InvalidInput, match=message):
        lifecycle.publish("iris", files, "alice")
    assert snapshot(model_store) == before
    assert lifecycle.audit() == []


def _pickled_iris(store: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    import io

    import joblib
    import skops.io as sio

    estimator = sio.load(store / "iris" / "1" / "model.skops", trusted=sio.get_untrusted_types(
        file=store / "iris" / "1" / "model.skops"))
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    manifest = {**json.loads(files["model.json"]), "artifact": "model.pkl"}
    return {"model.json": json.dumps(manifest).encode(), "model.pkl": buffer.getvalue()}


def test_a_pickle_publishes_only_for_a_trusted_model(model_store, tmp_path):
    app = make_app(model_store, tmp_path / "trusted", TRUSTED_MODELS=["iris"])
    version = app.extensions["podium.lifecycle"].publish(
        "iris", _pickled_iris(model_store, iris_files(model_store)), "alice")
    assert served_version(app) == version == 3


def _keras_lambda_model(folder: Path) -> bytes:
    import keras

    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    path = folder / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    return path.read_bytes()


def _zip_with(member: str, data: bytes = b"x") -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("config.json", "{}")
        zf.writestr(member, data)
    return buffer.getvalue()


@pytest.mark.parametrize("case", ["lambda", "traversal", "not-a-zip"])
def test_hostile_keras_archives_are_refused(lifecycle, model_store, tmp_path, case):
    manifest = json.loads((model_store / "iris" / "1" / "model.json").read_text())
    manifest.update(framework="keras", artifact="model.keras")
    artifact = {"lambda": lambda: _keras_lambda_model(tmp_path),
                "traversal": lambda: _zip_with("../../escape.txt"),
                "not-a-zip": lambda: b"PK\x03\x04 definitely not a zip"}[case]()
    before = snapshot(model_store)
    with pytest.raises(InvalidInput, match="refused"):
        lifecycle.publish("iris", {"model.json": json.dumps(manifest).encode(), "model.keras": artifact},
                          "alice")
    assert snapshot(model_store) == before
    assert not list(tmp_path.parent.glob("escape.txt"))


def test_uploads_over_the_size_limit_are_refused(lifecycle, model_store):
    lifecycle.max_upload_bytes = 1000
    with pytest.raises(PayloadTooLarge):
        lifecycle.publish("iris", iris_files(model_store), "alice")


def test_disk_full_while_publishing_cleans_up(lifecycle, model_store, monkeypatch):
    """ROBUSTNESS 54: a write failure is a clear server error; no staging left, serving unchanged."""
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = snapshot(model_store)
    monkeypatch.setattr("webapp.serving.models.store.os.fsync", full)
    with pytest.raises(StorageFailure, match="No space left"):
        lifecycle.publish("iris", iris_files(model_store), "alice")
    monkeypatch.undo()
    assert snapshot(model_store) == before
    assert predict(lifecycle.service, "iris", ROW).version == 2


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "x" * 65, ""])
def test_bad_model_names_write_nothing(lifecycle, model_store, name):
    before = snapshot(model_store)
    with pytest.raises(InvalidInput):
        lifecycle.publish(name, iris_files(model_store), "alice")
    assert snapshot(model_store) == before
    assert not (model_store.parent / "evil").exists()


# -- labels, default, rollback, delete ----------------------------------------------------------
def test_labels_must_point_at_existing_versions(app, lifecycle, model_store):
    before = snapshot(model_store)
    with pytest.raises(Conflict, match="no such version"):
        lifecycle.set_label("iris", "stable", 9, "alice")
    with pytest.raises(InvalidInput, match="label"):
        lifecycle.set_label("iris", "not a label!", 1, "alice")
    with pytest.raises(ModelNotFound):
        lifecycle.set_label("nosuch", "stable", 1, "alice")
    with pytest.raises(ModelNotFound):
        lifecycle.delete_label("iris", "stable", "alice")
    assert snapshot(model_store) == before
    lifecycle.set_label("iris", "stable", 1, "alice")
    assert predict(app.extensions["podium.service"], "iris", ROW, label="stable").version == 1
    lifecycle.delete_label("iris", "stable", "alice")
    assert "stable" not in app.extensions["podium.service"].model("iris").labels


def test_default_and_one_call_rollback(app, lifecycle, model_store):
    assert lifecycle.publish("iris", iris_files(model_store), "alice") == 3
    lifecycle.set_label("iris", "stable", 3, "alice")
    assert served_version(app) == 3
    assert lifecycle.rollback("iris", "alice") == 2
    assert served_version(app) == 2
    assert app.extensions["podium.service"].model("iris").labels["stable"] == 2
    assert lifecycle.rollback("iris", "alice") == 1
    assert served_version(app) == 1
    before = snapshot(model_store)
    with pytest.raises(Conflict, match="no usable version below 1"):
        lifecycle.rollback("iris", "alice")
    assert snapshot(model_store) == before
    lifecycle.set_default("iris", None, "alice")
    assert served_version(app) == 3
    with pytest.raises(Conflict):
        lifecycle.set_default("iris", 7, "alice")


def test_a_version_in_use_cannot_be_deleted(app, lifecycle, model_store):
    lifecycle.set_label("iris", "canary", 2, "alice")
    lifecycle.set_default("iris", 1, "alice")
    for version, user in ((2, "label 'canary'"), (1, "default")):
        with pytest.raises(Conflict, match=user):
            lifecycle.delete_version("iris", version, "alice")
    lifecycle.set_default("iris", None, "alice")
    lifecycle.set_split("iris", {1: 50, 2: 50}, "alice")
    with pytest.raises(Conflict, match="split"):
        lifecycle.delete_version("iris", 1, "alice")
    with pytest.raises(ModelNotFound):
        lifecycle.delete_version("iris", 5, "alice")
    lifecycle.set_split("iris", None, "alice")
    lifecycle.delete_version("iris", 1, "alice")
    assert not (model_store / "iris" / "1").exists()
    with pytest.raises(Conflict, match="only version"):
        lifecycle.delete_version("diabetes", 1, "alice")


# -- traffic split ------------------------------------------------------------------------------
@pytest.mark.parametrize(("weights", "message"), [
    ({1: 50, 2: 40}, "add up to 100"),
    ({1: 100}, "two or more"),
    ({1: 0, 2: 100}, "positive integers"),
    ({1: 50.5, 2: 49.5}, "positive integers"),
    ({1: 50, 9: 50}, "no such version"),
])
def test_bad_splits_are_refused(lifecycle, model_store, weights, message):
    before = snapshot(model_store)
    with pytest.raises((InvalidInput, Conflict), match=message):
        lifecycle.set_split("iris", weights, "alice")
    assert snapshot(model_store) == before


def test_split_is_sticky_per_caller_and_weighted(app, lifecycle):
    lifecycle.set_split("iris", {1: 90, 2: 10}, "alice")
    picks = {f"caller-{i}": served_version(app, f"caller-{i}") for i in range(400)}
    assert all(served_version(app, c) == v for c, v in list(picks.items())[:50])
    share_of_2 = sum(v == 2 for v in picks.values()) / len(picks)
    assert 0.04 < share_of_2 < 0.2
    counters = app.extensions["podium.service"].model("iris").versions
    assert counters[1].counters["requests"] + counters[2].counters["requests"] >= 450
    # a named version or label bypasses the split
    assert predict(app.extensions["podium.service"], "iris", ROW, version=2, caller="x").version == 2


def test_choose_split_version_is_stable_and_covers_every_version():
    split = {2: 90, 3: 10}
    assert {choose_split_version(split, "same") for _ in range(20)} == {choose_split_version(split, "same")}
    assert {choose_split_version(split, f"k{i}") for i in range(300)} == {2, 3}
    assert {choose_split_version(split, None) for _ in range(300)} == {2, 3}


# -- state and audit ----------------------------------------------------------------------------
def test_changes_land_in_config_and_survive_a_restart(app, lifecycle, model_store, tmp_path):
    lifecycle.set_label("iris", "stable", 1, "alice")
    lifecycle.set_split("iris", {1: 30, 2: 70}, "bob")
    lifecycle.unload("diabetes", "alice")
    config = json.loads((model_store / "iris" / "config.json").read_text())
    assert config == {"labels": {"stable": 1}, "split": {"1": 30, "2": 70}}
    fresh = make_app(model_store, tmp_path / "restarted").extensions["podium.service"]
    assert fresh.model("iris").labels == {"stable": 1}
    assert "diabetes" in fresh.models()
    assert not fresh.model("diabetes").versions
    lifecycle.load("diabetes", "alice")
    entries = lifecycle.audit()
    assert [e["action"] for e in entries] == ["load", "unload", "set_split", "set_label"]
    assert entries[1]["user"] == "alice"
    assert entries[2]["user"] == "bob"
    assert entries[2]["weights"] == {"1": 30, "2": 70}
    assert all(e["time"].endswith("Z") for e in entries)

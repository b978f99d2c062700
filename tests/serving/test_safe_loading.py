"""ROBUSTNESS.md rows 52-53: malicious model files are refused, never executed or extracted.

Each crafted artifact is published as a new version into a private store; the version must end
FAILED with a reason and the rest of the store must keep serving.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_app
from tests.support.helpers import IRIS_FEATURES, IRIS_LABELS, IRIS_ROW, predict
from webapp.serving.errors import InvalidInput
from webapp.serving.loaded import State
from webapp.serving.models.store import ModelStore
from webapp.serving.runtimes.keras_runtime import check_keras_archive


def _manifest(framework: str, artifact: str) -> bytes:
    return json.dumps({
        "framework": framework, "artifact": artifact, "task": "classification",
        "inputs": {"kind": "tabular", "features": IRIS_FEATURES},
        "outputs": {"labels": IRIS_LABELS},
    }).encode()


@pytest.fixture
def iris_only(demo_store, tmp_path):
    """A store holding only the demo iris (fast to load), plus an app over it."""
    import shutil

    root = tmp_path / "store"
    shutil.copytree(demo_store / "iris", root / "iris")
    return make_app(root, tmp_path / "instance", TRUSTED_MODELS=["trusted"])


def _publish_and_load(app, name: str, framework: str, artifact: str, content: bytes):
    service = app.extensions["podium.service"]
    ModelStore(service.store.root).publish(name, {"model.json": _manifest(framework, artifact),
                                                  artifact: content})
    service.refresh()
    return service.model(name).versions[1]


def _still_serving(app) -> None:
    values = predict(app.extensions["podium.service"], "iris", [IRIS_ROW]).values
    assert int(np.argmax(values[0])) == 0


class _Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("artifact", ["model.pkl", "model.joblib"])
def test_pickles_are_refused_unless_trusted(iris_only, tmp_path, artifact):
    marker = tmp_path / "pwned"
    lv = _publish_and_load(iris_only, "evil", "sklearn", artifact, pickle.dumps(_Payload(marker)))
    assert lv.state is State.FAILED
    assert "pickle" in lv.reason
    assert "PODIUM_TRUSTED_MODELS" in lv.reason
    assert not marker.exists(), "the pickle was executed"
    _still_serving(iris_only)


def test_a_trusted_joblib_model_loads(iris_only):
    import joblib
    import skops.io as sio

    path = iris_only.extensions["podium.service"].store.root / "iris" / "1" / "model.skops"
    estimator = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    buf = io.BytesIO()
    joblib.dump(estimator, buf)
    lv = _publish_and_load(iris_only, "trusted", "sklearn", "model.joblib", buf.getvalue())
    assert lv.state is State.AVAILABLE, lv.reason


def test_skops_with_a_type_outside_the_allowlist(iris_only, tmp_path):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "m.skops"
    sio.dump(make_pipeline(FunctionTransformer(func=os.system)), path)
    lv = _publish_and_load(iris_only, "evil", "sklearn", "model.skops", path.read_bytes())
    assert lv.state is State.FAILED
    assert "outside the allowlist" in lv.reason
    _still_serving(iris_only)


def test_keras_lambda_layer_is_refused_by_safe_mode(iris_only, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2.0),
                              keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    lv = _publish_and_load(iris_only, "evil", "keras", "model.keras", path.read_bytes())
    assert lv.state is State.FAILED
    assert "safe_mode" in lv.reason or "Lambda" in lv.reason
    _still_serving(iris_only)


def test_h5_files_are_refused_by_the_manifest_check(iris_only):
    lv = _publish_and_load(iris_only, "evil", "keras", "model.h5", b"\x89HDF\r\n\x1a\n")
    assert lv.state is State.FAILED
    assert "artifact must be a file name ending in" in lv.reason


def _keras_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_keras_config_naming_an_arbitrary_function(iris_only):
    config = {"module": "os", "class_name": "system", "config": {"command": "touch pwned"},
              "registered_name": None}
    archive = _keras_zip({"config.json": json.dumps(config).encode(),
                          "metadata.json": b'{"keras_version": "3.0.0"}'})
    lv = _publish_and_load(iris_only, "evil", "keras", "model.keras", archive)
    assert lv.state is State.FAILED
    assert "Cannot load Keras model" in lv.reason
    assert not Path("pwned").exists()


def _claim_size(archive: bytes, member_size: int) -> bytes:
    """Rewrite every central-directory entry to claim `member_size` uncompressed bytes."""
    data = bytearray(archive)
    start = 0
    while (at := data.find(b"PK\x01\x02", start)) != -1:
        data[at + 24:at + 28] = struct.pack("<I", member_size)
        start = at + 4
    return bytes(data)


@pytest.mark.parametrize(("members", "words"), [
    ({"config.json": b"{}", "../../evil.py": b"x"}, "Unsafe member name"),
    ({"config.json": b"{}", "/etc/cron.d/evil": b"x"}, "Unsafe member name"),
    ({"config.json": b"{}", "a/../../evil": b"x"}, "Unsafe member name"),
    ({"config.json": b"{}", "..\\evil": b"x"}, "Unsafe member name"),
    ({"weights.h5": b"x"}, "no config.json"),
])
def test_keras_archives_with_unsafe_members(iris_only, tmp_path, members, words):
    """Row 53: refused before Keras extracts anything."""
    archive = _keras_zip(members)
    path = tmp_path / "a.keras"
    path.write_bytes(archive)
    with pytest.raises(InvalidInput, match=words):
        check_keras_archive(str(path))
    lv = _publish_and_load(iris_only, "evil", "keras", "model.keras", archive)
    assert lv.state is State.FAILED
    assert words in lv.reason
    assert not (tmp_path / "evil.py").exists()
    _still_serving(iris_only)


def test_keras_zip_bomb_is_refused_before_extraction(iris_only, tmp_path):
    """Row 53: a small archive whose members claim gigabytes."""
    archive = _claim_size(_keras_zip({"config.json": b"{}", "model.weights.h5": b"\0" * 1000,
                                      "assets/x": b"\0" * 1000}), 0xC000_0000)
    assert len(archive) < 10_000
    path = tmp_path / "bomb.keras"
    path.write_bytes(archive)
    with pytest.raises(InvalidInput, match="expands beyond the size limit"):
        check_keras_archive(str(path))
    lv = _publish_and_load(iris_only, "evil", "keras", "model.keras", archive)
    assert lv.state is State.FAILED
    assert "size limit" in lv.reason
    _still_serving(iris_only)


def test_a_random_file_named_keras(iris_only):
    lv = _publish_and_load(iris_only, "evil", "keras", "model.keras", os.urandom(4096))
    assert lv.state is State.FAILED
    assert "Not a valid .keras archive" in lv.reason

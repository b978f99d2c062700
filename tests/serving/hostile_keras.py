"""Hostile Keras archives: configs that ask for code or memory, members that escape or explode."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.serving.hostile_artifacts import Hostile, Targets, claim_size, replace_member, zip_members


def _keras_bytes(layers: list) -> bytes:
    import keras

    model = keras.Sequential([keras.Input((4,)), *layers, keras.layers.Dense(3, activation="softmax")])
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "model.keras")
        return (Path(folder) / "model.keras").read_bytes()


def _lambda(_: Targets) -> bytes:
    import keras

    # Keras runs a Lambda while building the model, so a payload here would fire in the test
    # itself: what matters is that any Python function in a layer is refused
    return _keras_bytes([keras.layers.Lambda(lambda x: x * 2.0)])


def _edit_keras(edit: Callable[[dict], None]) -> Callable[[Targets], bytes]:
    def build(_: Targets) -> bytes:
        import keras

        archive = _keras_bytes([keras.layers.Dense(8)])
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            config = json.loads(zf.read("config.json"))
        edit(config)
        return replace_member(archive, lambda n: n == "config.json", json.dumps(config).encode())
    return build


def _custom_layer(config: dict) -> None:
    layer = config["config"]["layers"][1]
    layer.update(module="evilpkg.layers", class_name="Evil", registered_name="evilpkg>Evil")


def _os_system_model(config: dict) -> None:
    config.update(module="os", class_name="system", registered_name=None,
                  config={"command": "touch pwned"})


def _huge_dense(config: dict) -> None:
    config["config"]["layers"][1]["config"]["units"] = 2**30  # a 16 GiB kernel from a few bytes


KERAS = [
    Hostile("keras-lambda-layer", "model.keras", _lambda, "Lambda"),
    Hostile("keras-custom-object", "model.keras", _edit_keras(_custom_layer), "Cannot load Keras"),
    Hostile("keras-config-names-os-system", "model.keras", _edit_keras(_os_system_model),
            "Cannot load Keras"),
    Hostile("keras-zip-slip", "model.keras",
            lambda t: zip_members({"config.json": b"{}", "../../pwned": b"x"}), "Unsafe member name"),
    Hostile("keras-absolute-member", "model.keras",
            lambda t: zip_members({"config.json": b"{}", str(t.marker): b"x"}), "Unsafe member name"),
    Hostile("keras-zip-bomb", "model.keras",
            lambda t: claim_size(zip_members({"config.json": b"{}", "model.weights.h5": b"\0" * 1000}),
                                 0xC000_0000), "size limit"),
    Hostile("keras-huge-declared-shape", "model.keras", _edit_keras(_huge_dense),
            "OOM when allocating"),
]

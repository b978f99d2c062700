"""The Keras demos: digits (a small CNN on 8x8 images) and wine (an MLP on 13 features)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from webapp.demos.building import SEED, split, tabular_manifest, write


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(SEED)
    return keras


def _train(model: Any, folder: Path, data: tuple, epochs: int, batch_size: int) -> float:
    """Fit a classifier, save it as `model.keras`; its held-out accuracy."""
    x_tr, y_tr, x_te, y_te = data
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0)
    _, accuracy = model.evaluate(x_te, y_te, verbose=0)
    model.save(folder / "model.keras")
    return float(accuracy)


def digits_v1(folder: Path) -> None:
    from sklearn.datasets import load_digits

    keras = _keras()
    data = load_digits()
    images = data.images.astype("float32")[..., None]
    x_tr, x_te, y_tr, y_te = split(images, data.target)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Rescaling(1.0 / 16),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    accuracy = _train(model, folder, (x_tr, y_tr, x_te, y_te), epochs=25, batch_size=32)
    manifest = {
        "framework": "keras", "artifact": "model.keras", "task": "classification",
        "description": "Handwritten digit (0-9) from an image: a small CNN on 8x8 grey images.",
        "inputs": {"kind": "image", "height": 8, "width": 8, "channels": 1, "scale": 16.0,
                   "invert": "auto", "fit": "bbox"},
        "outputs": {"labels": [str(d) for d in range(10)]},
        "metrics": {"accuracy": round(float(accuracy), 4)},
        "training_data": {"source": "sklearn.datasets.load_digits", "rows": int(len(images)),
                          "image": "8x8, ink 0-16 on a dark background"},
        "deterministic": True,
    }
    write(folder, manifest, x_te, y_te, x_tr, y_tr)


def wine_v1(folder: Path) -> None:
    from sklearn.datasets import load_wine

    keras = _keras()
    data = load_wine()
    x = data.data.astype("float32")
    x_tr, x_te, y_tr, y_te = split(x, data.target)
    norm = keras.layers.Normalization()
    norm.adapt(x_tr)
    model = keras.Sequential([
        keras.Input((x.shape[1],)), norm,
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    accuracy = _train(model, folder, (x_tr, y_tr, x_te, y_te), epochs=60, batch_size=16)
    write(folder, tabular_manifest(
        "keras", "model.keras", "classification", list(data.feature_names), x,
        "Wine cultivar from 13 chemical measurements (Keras MLP).", {"accuracy": accuracy},
        "sklearn.datasets.load_wine", [str(n) for n in data.target_names]), x_te, y_te, x_tr, y_tr)



"""Train the demo models from data that ships inside scikit-learn, deterministically.

iris (two scikit-learn versions), diabetes (scikit-learn regressor), digits (Keras CNN on 8x8
images) and wine (Keras MLP): both frameworks serve both kinds of input from day one.
Each version carries held-out rows (`heldout.json`) so later checks can compare call paths, and a
sample of its training rows (`reference.json`) that drift is measured against.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .monitoring.reference import write_reference
from .store import ModelStore

log = logging.getLogger(__name__)
SEED = 0
HELDOUT = "heldout.json"


def _features(names: list[str], x: np.ndarray) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": "float32", "min": round(float(x[:, i].min()), 4),
             "max": round(float(x[:, i].max()), 4), "example": round(float(np.median(x[:, i])), 4)}
            for i, n in enumerate(names)]


def _split(x: np.ndarray, y: np.ndarray, stratify: bool = True):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y if stratify else None)


def _write(folder: Path, manifest: dict[str, Any], x_test: np.ndarray, y_test: np.ndarray,
           x_train: np.ndarray, y_train: np.ndarray) -> None:
    (folder / "model.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    write_reference(folder, x_train, y_train, seed=SEED)
    rows = min(len(x_test), 64)
    heldout = {"x": x_test[:rows].tolist(), "y": y_test[:rows].tolist()}
    (folder / HELDOUT).write_text(json.dumps(heldout), encoding="utf-8")


def _save_skops(folder: Path, estimator: Any) -> None:
    import skops.io as sio

    sio.dump(estimator, folder / "model.skops")


def _tabular_manifest(framework: str, artifact: str, task: str, names: list[str], x: np.ndarray,
                      description: str, metrics: dict[str, float], source: str,
                      labels: list[str] | None = None) -> dict[str, Any]:
    manifest = {
        "framework": framework, "artifact": artifact, "task": task, "description": description,
        "inputs": {"kind": "tabular", "features": _features(names, x)},
        "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
        "training_data": {"source": source, "rows": int(len(x)), "features": len(names)},
        "deterministic": True,
    }
    if labels:
        manifest["outputs"] = {"labels": labels}
    return manifest


def _iris(folder: Path, model: Any, kind: str) -> None:
    """Fit `model` on iris and write it as a version: both iris versions differ only in the model."""
    from sklearn.datasets import load_iris
    from sklearn.metrics import accuracy_score

    data = load_iris()
    x_tr, x_te, y_tr, y_te = _split(data.data, data.target)
    model.fit(x_tr, y_tr)
    _save_skops(folder, model)
    _write(folder, _tabular_manifest(
        "sklearn", "model.skops", "classification", list(data.feature_names), data.data,
        f"Iris species from sepal and petal measurements ({kind}).",
        {"accuracy": accuracy_score(y_te, model.predict(x_te))}, "sklearn.datasets.load_iris",
        list(data.target_names)), x_te, y_te, x_tr, y_tr)


def iris_v1(folder: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _iris(folder, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
          "scaler + logistic regression")


def iris_v2(folder: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    _iris(folder, RandomForestClassifier(n_estimators=50, random_state=SEED), "random forest, 50 trees")


def diabetes_v1(folder: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    data = load_diabetes()
    x_tr, x_te, y_tr, y_te = _split(data.data, data.target, stratify=False)
    model = GradientBoostingRegressor(n_estimators=100, max_depth=2, random_state=SEED)
    model.fit(x_tr, y_tr)
    pred = model.predict(x_te)
    _write(folder, _tabular_manifest(
        "sklearn", "model.skops", "regression", list(data.feature_names), data.data,
        "Disease progression one year after baseline (gradient boosting regressor).",
        {"r2": r2_score(y_te, pred), "mae": mean_absolute_error(y_te, pred)},
        "sklearn.datasets.load_diabetes"), x_te, y_te, x_tr, y_tr)
    _save_skops(folder, model)


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(SEED)
    return keras


def digits_v1(folder: Path) -> None:
    from sklearn.datasets import load_digits

    keras = _keras()
    data = load_digits()
    images = data.images.astype("float32")[..., None]
    x_tr, x_te, y_tr, y_te = _split(images, data.target)
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
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=25, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_te, y_te, verbose=0)
    model.save(folder / "model.keras")
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
    _write(folder, manifest, x_te, y_te, x_tr, y_tr)


def wine_v1(folder: Path) -> None:
    from sklearn.datasets import load_wine

    keras = _keras()
    data = load_wine()
    x = data.data.astype("float32")
    x_tr, x_te, y_tr, y_te = _split(x, data.target)
    norm = keras.layers.Normalization()
    norm.adapt(x_tr)
    model = keras.Sequential([
        keras.Input((x.shape[1],)), norm,
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=60, batch_size=16, verbose=0)
    _, accuracy = model.evaluate(x_te, y_te, verbose=0)
    model.save(folder / "model.keras")
    _write(folder, _tabular_manifest(
        "keras", "model.keras", "classification", list(data.feature_names), x,
        "Wine cultivar from 13 chemical measurements (Keras MLP).", {"accuracy": accuracy},
        "sklearn.datasets.load_wine", [str(n) for n in data.target_names]), x_te, y_te, x_tr, y_tr)


DEMOS: dict[tuple[str, int], Callable[[Path], None]] = {
    ("iris", 1): iris_v1, ("iris", 2): iris_v2, ("diabetes", 1): diabetes_v1,
    ("digits", 1): digits_v1, ("wine", 1): wine_v1,
}


def train_demos(store_root: str | os.PathLike[str], only: set[str] | None = None) -> list[str]:
    """Train and publish every demo version the store lacks; returns what was published."""
    store = ModelStore(store_root)
    store.root.mkdir(parents=True, exist_ok=True)
    published = []
    for (name, version), build in DEMOS.items():
        if only and name not in only:
            continue
        if (store.root / name / str(version) / "model.json").exists():
            continue
        with tempfile.TemporaryDirectory(prefix=".build-", dir=store.root) as tmp:
            build(Path(tmp))
            store.publish_dir(name, Path(tmp), version=version)
        published.append(f"{name}/{version}")
        log.info("Published demo model %s version %s", name, version)
    return published

"""Build the bench's extra models into a store: a 200-tree random forest and a MobileNetV2 224x224."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from webapp.serving.models.store import ModelStore


def forest(folder: Path) -> None:
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.25, random_state=0)
    model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1).fit(x_tr, y_tr)
    sio.dump(model, folder / "model.skops")
    features = [{"name": n, "min": float(data.data[:, i].min()), "max": float(data.data[:, i].max())}
                for i, n in enumerate(data.feature_names)]
    manifest = {"framework": "sklearn", "artifact": "model.skops", "task": "classification",
                "description": "Breast cancer diagnosis (random forest, 200 trees).",
                "inputs": {"kind": "tabular", "features": features},
                "outputs": {"labels": [str(n) for n in data.target_names]}, "deterministic": True}
    (folder / "model.json").write_text(json.dumps(manifest))
    (folder / "heldout.json").write_text(json.dumps({"x": x_te[:64].tolist(), "y": y_te[:64].tolist()}))


def mobilenet(folder: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None, classes=1000)
    model.save(folder / "model.keras")
    manifest = {"framework": "keras", "artifact": "model.keras", "task": "classification",
                "description": "MobileNetV2 224x224 with random weights (a realistic image-model cost).",
                "inputs": {"kind": "image", "height": 224, "width": 224, "channels": 3, "scale": 1.0},
                "outputs": {"labels": [f"class_{i}" for i in range(1000)]}}
    (folder / "model.json").write_text(json.dumps(manifest))
    x = np.random.default_rng(0).uniform(0, 1, (4, 224, 224, 3)).round(3)
    (folder / "heldout.json").write_text(json.dumps({"x": x.tolist(), "y": [0, 0, 0, 0]}))


def build(store_root: Path) -> None:
    store = ModelStore(store_root)
    for name, make in (("forest", forest), ("mobilenet", mobilenet)):
        if (store_root / name / "1" / "model.json").exists():
            continue
        with tempfile.TemporaryDirectory(prefix=".build-", dir=store_root) as tmp:
            make(Path(tmp))
            store.publish_dir(name, Path(tmp), version=1)

"""Tiny Keras classifiers whose quantized forms are known to pass or miss the budget.

`linear_classifier(folder, margin)` writes a version: one softmax layer on two features whose
class is the sign of the first one, with weights set by hand (no training, so the same on every
machine). With a wide margin the two probabilities are far apart and every form agrees. With a
razor-thin one they differ by less than an int8 output step (1/256), so the int8 form rounds them
to a tie and answers the first class on about a fifth of the held-out rows: refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

WIDE = 5.0  # logit difference 10 * x0: p(pos) above 0.88 once |x0| > 0.2
THIN = 0.01  # logit difference 0.02 * x0: p(pos) within 0.005 of 0.5 everywhere
ALL_FORMS = {"quantize": ["int8", "dynamic", "float16"]}


def rows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows in [-1, 1]^2 with |x0| >= 0.2 (no row on the boundary itself); labels x0 > 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (count, 2))
    x[:, 0] = np.sign(x[:, 0]) * (0.2 + 0.8 * np.abs(x[:, 0]))
    return x.astype(np.float32), (x[:, 0] > 0).astype(np.int64)


def linear_classifier(folder: Path, margin: float, accelerate: Any = None) -> Path:
    """Write model.keras, model.json (with `accelerate` when given) and heldout.json into folder."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.array([[-margin, margin], [0.0, 0.0]], dtype=np.float32),
                                 np.zeros(2, dtype=np.float32)])
    model.save(folder / "model.keras")
    features = [{"name": n, "dtype": "float32", "min": -1.0, "max": 1.0} for n in ("x0", "x1")]
    manifest: dict[str, Any] = {
        "framework": "keras", "artifact": "model.keras", "task": "classification",
        "description": f"The sign of x0, softmax margin {margin:g}.",
        "inputs": {"kind": "tabular", "features": features},
        "outputs": {"labels": ["neg", "pos"]}, "metrics": {"accuracy": 1.0}}
    if accelerate is not None:
        manifest["accelerate"] = accelerate
    (folder / "model.json").write_text(json.dumps(manifest), encoding="utf-8")
    x, y = rows(64, seed=1)
    (folder / "heldout.json").write_text(json.dumps({"x": x.tolist(), "y": y.tolist()}), encoding="utf-8")
    return folder


def set_accelerate(version: Path, accelerate: Any) -> None:
    """Rewrite a version's manifest with another `accelerate` value (None removes it)."""
    manifest = json.loads((version / "model.json").read_text())
    manifest.pop("accelerate", None)
    if accelerate is not None:
        manifest["accelerate"] = accelerate
    (version / "model.json").write_text(json.dumps(manifest), encoding="utf-8")

"""What every demo version is made of: a manifest with feature ranges and held-out metrics, the
held-out rows (`heldout.json`) later checks compare call paths on, and a sample of the training
rows (`reference.json`) that drift is measured against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from webapp.serving.monitoring.reference import write_reference

SEED = 0
HELDOUT = "heldout.json"


def features_of(names: list[str], x: np.ndarray) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": "float32", "min": round(float(x[:, i].min()), 4),
             "max": round(float(x[:, i].max()), 4), "example": round(float(np.median(x[:, i])), 4)}
            for i, n in enumerate(names)]


def split(x: np.ndarray, y: np.ndarray, stratify: bool = True):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y if stratify else None)


def write(folder: Path, manifest: dict[str, Any], x_test: np.ndarray, y_test: np.ndarray,
          x_train: np.ndarray, y_train: np.ndarray) -> None:
    """The manifest, a sample of the training rows (drift's reference) and the held-out rows."""
    (folder / "model.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    write_reference(folder, x_train, y_train, seed=SEED)
    rows = min(len(x_test), 64)
    heldout = {"x": x_test[:rows].tolist(), "y": y_test[:rows].tolist()}
    (folder / HELDOUT).write_text(json.dumps(heldout), encoding="utf-8")


def save_skops(folder: Path, estimator: Any) -> None:
    import skops.io as sio

    sio.dump(estimator, folder / "model.skops")


def tabular_manifest(framework: str, artifact: str, task: str, names: list[str], x: np.ndarray,
                      description: str, metrics: dict[str, float], source: str,
                      labels: list[str] | None = None) -> dict[str, Any]:
    manifest = {
        "framework": framework, "artifact": artifact, "task": task, "description": description,
        "inputs": {"kind": "tabular", "features": features_of(names, x)},
        "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
        "training_data": {"source": source, "rows": int(len(x)), "features": len(names)},
        "deterministic": True,
    }
    if labels:
        manifest["outputs"] = {"labels": labels}
    return manifest



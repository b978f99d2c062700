"""Write a complete recommender version folder: matrix, ids, trained parts, manifest with held-out metrics.

The folder is meant to be a staging folder that the store then renames into place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .data import IDS, INTERACTIONS, Interactions, save_interactions
from .evaluate import evaluate
from .fit import check_method, fit_parts, save_parts

MANIFEST = "model.json"


def build_version(folder: Path, data: Interactions, method: str, params: dict[str, Any], *,
                  description: str, training_data: dict[str, Any], k: int = 10,
                  eval_users: int | None = 5000) -> dict[str, Any]:
    """Evaluate on a held-out split, fit on all interactions, write every file; returns the manifest."""
    params = check_method(method, params)
    quality = evaluate(data.matrix, method, params, k=k, max_users=eval_users)
    save_interactions(folder, data)
    files = save_parts(folder, fit_parts(data.matrix, method, params))
    manifest = {
        "framework": "recommend", "artifact": INTERACTIONS, "task": "recommendation",
        "description": description,
        "recommendation": {"method": method, "params": params, "k_default": k, "k_max": 100,
                           "cold_start": "popular", "users": data.shape[0], "items": data.shape[1],
                           "interactions": int(data.matrix.nnz)},
        "files": [INTERACTIONS, IDS, *files],  # every file of the version besides model.json
        "metrics": _rounded(quality["metrics"]),
        "baseline": {"name": "most popular unseen items", "metrics": _rounded(quality["baseline"])},
        "evaluation": quality["split"],
        "training_data": training_data,
        "deterministic": True,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in metrics.items()}

"""Live quality from labelled predictions: accuracy, macro-F1, log loss; MAE and RMSE for regressors."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss


def classifier_quality(labels: list[str], predicted: list[str], truth: list[str],
                       probabilities: list[list[float] | None]) -> dict[str, Any]:
    """Accuracy and macro-F1 over the classes seen; log loss where probabilities were logged."""
    n = len(truth)
    if n == 0:
        return {"labelled": 0}
    seen = sorted(set(truth) | set(predicted))
    out: dict[str, Any] = {
        "labelled": n, "correct": sum(p == t for p, t in zip(predicted, truth, strict=True)),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=seen, average="macro",
                                         zero_division=0)), 4),
    }
    index = {label: i for i, label in enumerate(labels)}
    rows = [(p, index[t]) for p, t in zip(probabilities, truth, strict=True)
            if p is not None and len(p) == len(labels) and None not in p and t in index]
    if rows:
        probs = np.clip(np.array([p for p, _ in rows], dtype=np.float64), 1e-15, 1.0)
        probs /= probs.sum(axis=1, keepdims=True)
        out["log_loss"] = round(float(log_loss([t for _, t in rows], probs,
                                               labels=list(range(len(labels))))), 4)
    return out


def regressor_quality(predicted: list[float], truth: list[float]) -> dict[str, Any]:
    if not truth:
        return {"labelled": 0}
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {"labelled": len(truth), "mae": round(float(np.abs(error).mean()), 4),
            "rmse": round(float(np.sqrt((error ** 2).mean())), 4)}

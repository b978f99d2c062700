"""Live quality from labelled predictions: accuracy, macro-F1, log loss; MAE and RMSE for regressors.

Written in numpy, not with scikit-learn's metrics: the monitor round runs inside a serving worker,
and workers serving converted versions do not import scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def classifier_quality(labels: list[str], predicted: list[str], truth: list[str],
                       probabilities: list[list[float] | None]) -> dict[str, Any]:
    """Accuracy and macro-F1 over the classes seen; log loss where probabilities were logged."""
    n = len(truth)
    if n == 0:
        return {"labelled": 0}
    seen = sorted(set(truth) | set(predicted))
    out: dict[str, Any] = {
        "labelled": n, "correct": sum(p == t for p, t in zip(predicted, truth, strict=True)),
        "accuracy": round(float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])), 4),
        "macro_f1": round(macro_f1(truth, predicted, seen), 4),
    }
    index = {label: i for i, label in enumerate(labels)}
    rows = [(p, index[t]) for p, t in zip(probabilities, truth, strict=True)
            if p is not None and len(p) == len(labels) and None not in p and t in index]
    if rows:
        probs = np.clip(np.array([p for p, _ in rows], dtype=np.float64), 1e-15, 1.0)
        probs /= probs.sum(axis=1, keepdims=True)
        true_class = np.array([t for _, t in rows])
        out["log_loss"] = round(float(-np.log(probs[np.arange(len(rows)), true_class]).mean()), 4)
    return out


def macro_f1(truth: list[str], predicted: list[str], labels: list[str]) -> float:
    """The unweighted mean of per-class F1 over `labels`; a class with no true or predicted row
    scores 0 (scikit-learn's zero_division=0)."""
    t, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    scores = []
    for label in labels:
        hit, said, real = np.sum((p == label) & (t == label)), np.sum(p == label), np.sum(t == label)
        scores.append(2 * hit / (said + real) if said + real else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def regressor_quality(predicted: list[float], truth: list[float]) -> dict[str, Any]:
    if not truth:
        return {"labelled": 0}
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {"labelled": len(truth), "mae": round(float(np.abs(error).mean()), 4),
            "rmse": round(float(np.sqrt((error ** 2).mean())), 4)}

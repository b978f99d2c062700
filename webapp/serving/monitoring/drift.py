"""Drift of one column, current window against the reference, chosen as Evidently chooses.

Reference of at most `large_reference` rows: binary columns (two values) get a two-proportion z-test,
categorical or low-cardinality ones (at most 5 values) a chi-square test of homogeneity, numeric ones
two-sample Kolmogorov-Smirnov; drift when p < `p_value`. Larger references: normalised Wasserstein
distance (numeric) or Jensen-Shannon distance (categorical), drift above `distance`. PSI with
`psi_bins` bins is reported beside every test. The dataset drifts when at least `share` of its
columns do. scipy does the statistics; alibi-detect's licence rules it out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lazy_scipy import jensenshannon, stats
from .settings import DriftThresholds

LOW_CARDINALITY = 5
PSI_FLOOR = 1e-4  # Evidently's floor for an empty bin, so the logarithm stays finite
HISTOGRAM_BINS = 20


def _clean(values: Any) -> np.ndarray:
    """Finite values at float32 precision (what the model saw), so equal inputs compare equal."""
    x = np.asarray([v for v in values if v is not None], dtype=np.float32).astype(np.float64)
    return x[np.isfinite(x)]


def column_kind(reference: np.ndarray, categorical: bool = False) -> str:
    distinct = len(np.unique(reference))
    if distinct <= 2:
        return "binary"
    return "categorical" if categorical or distinct <= LOW_CARDINALITY else "numeric"


def _z_test(ref: np.ndarray, cur: np.ndarray) -> float:
    """Two-proportion z-test on the share of the reference's first value; returns the p-value."""
    first = np.unique(ref)[0]
    p1, p2 = float(np.mean(ref == first)), float(np.mean(cur == first))
    pooled = (p1 * len(ref) + p2 * len(cur)) / (len(ref) + len(cur))
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * stats().norm.sf(abs(p1 - p2) / se))


def _counts(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = np.union1d(ref, cur)
    return keys, np.array([np.sum(ref == k) for k in keys]), np.array([np.sum(cur == k) for k in keys])


def _chi_square(ref: np.ndarray, cur: np.ndarray) -> float:
    _, a, b = _counts(ref, cur)
    if len(a) < 2:
        return 1.0
    return float(stats().chi2_contingency(np.vstack([a, b]))[1])


def _wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein distance in units of the reference's standard deviation (Evidently's norm)."""
    scale = float(np.std(ref)) or 1e-3
    return float(stats().wasserstein_distance(ref, cur) / scale)


def _jensen_shannon(ref: np.ndarray, cur: np.ndarray) -> float:
    _, a, b = _counts(ref, cur)
    return float(jensenshannon(a / a.sum(), b / b.sum(), base=2))


def psi(ref: np.ndarray, cur: np.ndarray, bins: int, categorical: bool) -> float:
    """Population stability index: sum of (cur% - ref%) * ln(cur% / ref%) over shared bins."""
    if categorical:
        _, a, b = _counts(ref, cur)
    else:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=bins)
        a, b = np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]
    pa = np.maximum(a / max(a.sum(), 1), PSI_FLOOR)
    pb = np.maximum(b / max(b.sum(), 1), PSI_FLOOR)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


def _test(kind: str, large: bool, ref: np.ndarray, cur: np.ndarray, t: DriftThresholds) -> dict:
    if large:
        if kind == "numeric":
            score, method = _wasserstein(ref, cur), "wasserstein_normed"
        else:
            score, method = _jensen_shannon(ref, cur), "jensen_shannon"
        return {"method": method, "score": score, "threshold": t.distance, "drifted": score > t.distance}
    if kind == "binary":
        score, method = _z_test(ref, cur), "z_test"
    elif kind == "categorical":
        score, method = _chi_square(ref, cur), "chi_square"
    else:
        score, method = float(stats().ks_2samp(ref, cur).pvalue), "kolmogorov_smirnov"
    return {"method": method, "score": score, "threshold": t.p_value, "drifted": score < t.p_value}


def column_drift(reference: Any, current: Any, thresholds: DriftThresholds,
                 categorical: bool = False) -> dict[str, Any]:
    """One column's verdict: method, score, threshold, drifted, PSI and histograms."""
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) < thresholds.min_rows:
        return {"verdict": False, "reason": f"{len(cur)} current rows, fewer than {thresholds.min_rows}"
                if len(ref) else "no reference values", "rows": int(len(cur))}
    kind = column_kind(ref, categorical)
    result = _test(kind, len(ref) > thresholds.large_reference, ref, cur, thresholds)
    result["score"] = round(result["score"], 6)
    discrete = kind != "numeric"
    value = psi(ref, cur, thresholds.psi_bins, discrete)
    return {"verdict": True, "kind": kind, **result, "drifted": bool(result["drifted"]),
            "psi": round(value, 6), "psi_drifted": value > thresholds.psi, "rows": int(len(cur)),
            "reference_rows": int(len(ref)), "histogram": histogram(ref, cur, discrete)}


def histogram(ref: np.ndarray, cur: np.ndarray, discrete: bool) -> dict[str, Any]:
    """Shares per bin for reference and current, on shared bins (what the page's small SVG draws)."""
    if discrete:
        keys, a, b = _counts(ref, cur)
        return {"categories": [_tidy(k) for k in keys],
                "reference": _shares(a), "current": _shares(b)}
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=HISTOGRAM_BINS)
    return {"edges": [round(float(e), 6) for e in edges],
            "reference": _shares(np.histogram(ref, edges)[0]),
            "current": _shares(np.histogram(cur, edges)[0])}


def _shares(counts: np.ndarray) -> list[float]:
    total = max(int(counts.sum()), 1)
    return [round(float(c) / total, 6) for c in counts]


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 6)


def dataset_drift(columns: dict[str, dict[str, Any]], thresholds: DriftThresholds) -> dict[str, Any]:
    """The per-column verdicts and whether at least `share` of the judged columns drift."""
    judged = {name: c for name, c in columns.items() if c.get("verdict")}
    drifted = sorted(name for name, c in judged.items() if c["drifted"])
    share = len(drifted) / len(judged) if judged else 0.0
    return {"verdict": bool(judged), "features": columns, "drifted_features": drifted,
            "drifted_share": round(share, 4), "share_threshold": thresholds.share,
            "drifted": bool(judged) and share >= thresholds.share}

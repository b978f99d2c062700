"""How sure a difference between versions is: the tests the A/B table states with each figure.

Proportions (error ratio, accuracy): a two-proportion z-test for two versions, a chi-square test of
homogeneity for more. Distributions of answers: chi-square on label counts (classifiers) or
Mann-Whitney U on values (regressors, two versions). Latency: Mann-Whitney U (no normality assumed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .lazy_scipy import stats

ALPHA = 0.05


def _verdict(test: str, p: float | None) -> dict[str, Any]:
    if p is None or not math.isfinite(p):
        return {"test": test, "p_value": None, "significant": False}
    return {"test": test, "p_value": round(p, 6), "significant": p < ALPHA}


def wilson(successes: int, total: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson score interval for a proportion (sound for small counts and 0 or 1)."""
    if total == 0:
        return None
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def proportions(successes: list[int], totals: list[int]) -> dict[str, Any]:
    """Do these proportions differ? z-test for two groups, chi-square for more."""
    groups = [(s, t) for s, t in zip(successes, totals, strict=True) if t > 0]
    if len(groups) < 2:
        return _verdict("none", None)
    if len(groups) == 2:
        (s1, n1), (s2, n2) = groups
        pooled = (s1 + s2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        p = 1.0 if se == 0 else float(2 * stats().norm.sf(abs(s1 / n1 - s2 / n2) / se))
        return _verdict("two_proportion_z_test", p)
    table = np.array([[s, t - s] for s, t in groups])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return _verdict("chi_square", 1.0)
    return _verdict("chi_square", float(stats().chi2_contingency(table)[1]))


def distributions(counts: list[list[int]]) -> dict[str, Any]:
    """Do these category counts (one list per version, same categories) come from one distribution?"""
    table = np.array(counts)
    table = table[table.sum(axis=1) > 0]
    table = table[:, table.sum(axis=0) > 0] if table.size else table
    if table.shape[0] < 2 or table.shape[1] < 2:
        return _verdict("chi_square", None if table.shape[0] < 2 else 1.0)
    return _verdict("chi_square", float(stats().chi2_contingency(table)[1]))


def samples(a: list[float], b: list[float]) -> dict[str, Any]:
    """Do two samples (latencies, predicted values) differ in location? Mann-Whitney U."""
    if len(a) < 2 or len(b) < 2:
        return _verdict("mann_whitney_u", None)
    return _verdict("mann_whitney_u", float(stats().mannwhitneyu(a, b).pvalue))

"""Versions side by side (a traffic split's A/B test), with how sure each difference is.

When the window holds requests routed by the split, only those are compared (the same population
sent at random to each version); otherwise all traffic is, and `population` says so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from . import significance
from .window import LoggedRow


def _requests(rows: list[LoggedRow]) -> list[LoggedRow]:
    return [r for r in rows if r.row_index == 0]


def _version_figures(rows: list[LoggedRow], answers: list[Any]) -> dict[str, Any]:
    requests = _requests(rows)
    errors = sum(1 for r in requests if r.status >= 400)
    latencies = np.array([r.latency_s for r in requests], dtype=np.float64)
    return {
        "requests": len(requests), "errors": errors,
        "error_ratio": round(errors / len(requests), 4) if requests else None,
        "error_ratio_ci95": significance.wilson(errors, len(requests)),
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 6) if len(latencies) else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 6) if len(latencies) else None,
        "answers": _answer_summary(answers),
    }


def _answer_summary(answers: list[Any]) -> dict[str, Any]:
    if answers and isinstance(answers[0], str):
        counts = Counter(answers)
        return {"shares": {k: round(c / len(answers), 4) for k, c in sorted(counts.items())}}
    values = np.array(answers, dtype=np.float64)
    if not len(values):
        return {}
    return {"mean": round(float(values.mean()), 4), "std": round(float(values.std()), 4)}


def _answers(rows: list[LoggedRow]) -> list[Any]:
    return [r.label if r.label is not None else r.value for r in rows
            if r.status < 400 and (r.label is not None or r.value is not None)]


def compare(rows: list[LoggedRow], per_version: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The A/B table for the versions with traffic in `rows`; None with fewer than two."""
    split = [r for r in rows if r.chosen_by == "split"]
    population = "split traffic" if len({r.version for r in split}) >= 2 else "all traffic"
    chosen = split if population == "split traffic" else rows
    by_version: dict[int, list[LoggedRow]] = defaultdict(list)
    for r in chosen:
        if r.version is not None:
            by_version[r.version].append(r)
    if len(by_version) < 2:
        return None
    versions = sorted(by_version)
    answers = {v: _answers(by_version[v]) for v in versions}
    table = {str(v): {**_version_figures(by_version[v], answers[v]),
                      "quality": per_version.get(v, {}).get("quality", {}),
                      "estimated": per_version.get(v, {}).get("estimated", {})} for v in versions}
    return {"population": population, "versions": table,
            "differences": _differences(versions, by_version, answers, table)}


def _differences(versions: list[int], rows: dict[int, list[LoggedRow]], answers: dict[int, list],
                 table: dict[str, dict]) -> dict[str, Any]:
    keys = [str(v) for v in versions]
    out = {"error_ratio": significance.proportions([table[k]["errors"] for k in keys],
                                                   [table[k]["requests"] for k in keys])}
    labelled = [table[k]["quality"].get("labelled", 0) for k in keys]
    if all("accuracy" in table[k]["quality"] for k in keys):
        correct = [table[k]["quality"]["correct"] for k in keys]
        out["accuracy"] = significance.proportions(correct, labelled)
    if len(versions) == 2:
        a, b = ([r.latency_s for r in _requests(rows[v])] for v in versions)
        out["latency"] = significance.samples(a, b)
    if any(answers[v] and isinstance(answers[v][0], str) for v in versions):
        categories = sorted({x for v in versions for x in answers[v]})
        counts = [[Counter(answers[v])[c] for c in categories] for v in versions]
        out["answers"] = significance.distributions(counts)
    elif len(versions) == 2:
        out["answers"] = significance.samples(answers[versions[0]], answers[versions[1]])
    return out

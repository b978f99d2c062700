"""Answers over time: the window's rows in equal time buckets, for the page's small bar chart.

Per bucket: requests, failed requests, and what the model answered (the share of each label for a
classifier, the mean value for a regressor), so a shift in answers shows before any label arrives.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .window import LoggedRow

BUCKETS = 12


def _bucket(rows: list[LoggedRow], start: float, width: float, classifier: bool) -> dict[str, Any]:
    requests = [r for r in rows if r.row_index == 0]
    served = [r for r in rows if r.status < 400]
    entry: dict[str, Any] = {"start": round(start, 3), "seconds": round(width, 3),
                             "requests": len(requests),
                             "errors": sum(1 for r in requests if r.status >= 400), "rows": len(served)}
    if classifier:
        counts = Counter(r.label for r in served if r.label is not None)
        total = sum(counts.values())
        entry["shares"] = {k: round(c / total, 4) for k, c in sorted(counts.items())} if total else {}
    else:
        values = [r.value for r in served if r.value is not None]
        entry["mean"] = round(sum(values) / len(values), 4) if values else None
    return entry


def timeline(rows: list[LoggedRow], now: float, classifier: bool, buckets: int = BUCKETS) -> dict[str, Any]:
    """The rows (any order) in `buckets` equal slices from the oldest to `now`; empty without rows."""
    times = [r.logged_at for r in rows]
    if not times:
        return {"buckets": []}
    start = min(times)
    width = max((now - start) / buckets, 1e-3)
    parts: list[list[LoggedRow]] = [[] for _ in range(buckets)]
    for r in rows:
        parts[min(buckets - 1, int((r.logged_at - start) / width))].append(r)
    return {"buckets": [_bucket(part, start + k * width, width, classifier)
                        for k, part in enumerate(parts)]}

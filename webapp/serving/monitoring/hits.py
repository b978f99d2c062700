"""A recommender's ground truth and live quality: the item a user chose from a list is a hit.

The truth for one row of a recommendation request is the item clicked, or a list of items (several
clicks, a basket). It is stored as a sorted JSON list of ids in the truth's `label` column, so
sending the same items again, in any order, is the same truth (feedback is idempotent). The live
hit rate@k is the share of labelled rows where at least one chosen item was among the k returned.
"""

from __future__ import annotations

import json
from typing import Any

from webapp.serving.errors import InvalidInput

MAX_TEXT = 128  # the truth column's width: about twenty short item ids


def item_truth(value: Any, where: str) -> tuple[str, None]:
    """An item id or a list of them as the stored (label, value) pair; InvalidInput when it is not."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise InvalidInput(f"{where}: a recommender's truth is the item id chosen or a list of them, "
                           f"got {value!r}")
    text = json.dumps(sorted(set(items)), separators=(",", ":"))
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{where}: the chosen items take {len(text)} characters as JSON; "
                           f"at most {MAX_TEXT}")
    return text, None


def item_truths(truth: Any, rows: int, where: str) -> list[tuple[str, None]]:
    """One truth per row: a one-row request takes an item or a list of items (all chosen); a request
    of n rows takes a list of n such truths."""
    if rows == 1:
        return [item_truth(truth, where)]
    if not isinstance(truth, list) or len(truth) != rows:
        raise InvalidInput(f"{where}: the request recommended for {rows} rows; send a list of {rows} "
                           "truths (an item id or a list of ids each)")
    return [item_truth(t, f"{where} row {j}") for j, t in enumerate(truth)]


def chosen(label: str | None) -> set[str]:
    """The stored truth back as a set of item ids (empty for anything else)."""
    try:
        items = json.loads(label) if label else []
    except ValueError:
        return set()
    return {i for i in items if isinstance(i, str)} if isinstance(items, list) else set()


def hit_rate(rows: list[Any]) -> dict[str, Any]:
    """Live hit rate@k over logged rows with a truth (`rows` need `inputs` and `truth_label`), one
    figure per k asked (`hit_rate@10`, named as the manifest's held-out metric), plus the hits."""
    labelled = [r for r in rows if r.truth_label is not None and (r.inputs or {}).get("returned") is not None]
    if not labelled:
        return {"labelled": 0}
    by_k: dict[int, list[bool]] = {}
    for r in labelled:
        k = int(r.inputs.get("k") or len(r.inputs["returned"]))
        by_k.setdefault(k, []).append(bool(chosen(r.truth_label) & set(r.inputs["returned"])))
    out: dict[str, Any] = {"labelled": len(labelled), "hits": sum(sum(v) for v in by_k.values())}
    out.update({f"hit_rate@{k}": round(sum(v) / len(v), 4) for k, v in sorted(by_k.items())})
    return out

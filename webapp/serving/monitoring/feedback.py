"""Ground truth for logged predictions, joined on Podium's request id.

All or nothing: every item is checked first and the first problem raised (InvalidInput, NotFound,
Conflict); then the new truths are written in one transaction. Sending the same truth again is
fine (idempotent); a different one for the same prediction is a Conflict.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from webapp.serving.errors import Conflict, InvalidInput, NotFound

from .database import LogDatabase, insert_ignoring_duplicates, read
from .hits import item_truths
from .tables import ground_truth, model_versions, predictions

MAX_ITEMS = 10_000


class Text(str):
    """A truth read from a CSV cell: a regressor takes it as a number when it parses as one."""


@dataclass(frozen=True)
class Logged:
    version: int
    rows: int


def _check_items(items: Any) -> list[tuple[str, Any]]:
    if not isinstance(items, list | tuple) or not items:
        raise InvalidInput("Send at least one (request id, truth) pair")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"At most {MAX_ITEMS} truths at once, got {len(items)}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise InvalidInput(f"Item {i}: expected a request id and a truth")
        rid, truth = item
        if not isinstance(rid, str) or not 0 < len(rid) <= 128:
            raise InvalidInput(f"Item {i}: the request id must be a string of 1-128 characters")
        out.append((rid, truth))
    return out


def _number(text: str) -> float | str:
    """A CSV cell as a number when it is one (a regressor's truth arrives as text)."""
    try:
        return float(text)
    except ValueError:
        return text


def _one_value(task: str, labels: list[str], value: Any, where: str) -> tuple[str | None, float | None]:
    """A truth as (label, value) columns; raises InvalidInput naming what is wrong."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{where}: {value!r} is not a valid truth")
    if task == "regression":
        if isinstance(value, Text):
            value = _number(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"{where}: a regressor's truth must be a finite number, got {value!r}")
        return None, float(value)
    label = str(value) if isinstance(value, int | str) else None
    if label is None or label not in labels:
        shown = ", ".join(labels[:20])
        raise InvalidInput(f"{where}: {value!r} is not a label of this model (labels: {shown})")
    return label, None


def _values(task: str, labels: list[str], truth: Any, rows: int, where: str) -> list[tuple]:
    if task == "recommendation":
        return item_truths(truth, rows, where)
    if task == "chat":
        raise InvalidInput(f"{where}: a chat's answers take no truth")
    if isinstance(truth, list):
        if len(truth) != rows:
            raise InvalidInput(f"{where}: the request predicted {rows} rows, the truth has {len(truth)}")
        return [_one_value(task, labels, v, f"{where} row {j}") for j, v in enumerate(truth)]
    if rows != 1:
        raise InvalidInput(f"{where}: the request predicted {rows} rows; send a list of {rows} truths")
    return [_one_value(task, labels, truth, where)]


class Feedback:
    """Records ground truth; one per process, cheap to share between threads."""

    def __init__(self, db: LogDatabase) -> None:
        self.db = db

    def record(self, model: str, items: Any) -> dict[str, int]:
        """Store truths for `[(request_id, truth), ...]`; returns counts of new and unchanged rows.

        A truth is a label (or its index, for labels that are digits) for classifiers, a number for
        regressors, the item chosen (or a list of items) for a recommender, or a list of them for a
        request that predicted several rows.
        Raises InvalidInput, NotFound, Conflict, or LogUnavailable when the database is down.
        """
        pairs = _check_items(items)
        return read(self.db, lambda conn: self._record(conn, model, pairs))

    def _record(self, conn: sa.Connection, model: str, pairs: list[tuple[str, Any]]) -> dict[str, int]:
        logged = _logged(conn, model, {rid for rid, _ in pairs})
        kinds = _version_kinds(conn, model, {entry.version for entry in logged.values()})
        wanted: dict[tuple[str, int], tuple] = {}
        for i, (rid, truth) in enumerate(pairs):
            entry = logged.get(rid)
            if entry is None:
                raise NotFound(f"Item {i}: no logged prediction of {model} has request id {rid!r} "
                               "(it was never made, failed, or was sampled out)")
            task, labels = kinds[entry.version]
            for j, value in enumerate(_values(task, labels, truth, entry.rows, f"Item {i}")):
                if wanted.setdefault((rid, j), value) != value:
                    raise Conflict(f"Item {i}: request id {rid!r} is given two different truths")
        existing = _existing(conn, {rid for rid, _ in pairs})
        for (rid, j), value in wanted.items():
            if (rid, j) in existing and existing[(rid, j)] != value:
                raise Conflict(f"Request id {rid!r} already has a different truth "
                               f"({existing[(rid, j)][0] or existing[(rid, j)][1]!r})")
        new = [{"request_id": rid, "row_index": j, "model": model, "label": value[0],
                "value": value[1], "received_at": time.time()}
               for (rid, j), value in wanted.items() if (rid, j) not in existing]
        if new:  # a concurrent sender may have written some since: keep theirs, then compare
            conn.execute(insert_ignoring_duplicates(self.db, ground_truth), new)
            stored = _existing(conn, {row["request_id"] for row in new})
            for row in new:
                if stored[(row["request_id"], row["row_index"])] != (row["label"], row["value"]):
                    raise Conflict(f"Request id {row['request_id']!r} just got a different truth")
        return {"recorded": len(new), "unchanged": len(wanted) - len(new)}


def _chunks(values: set[str], size: int = 500) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def _logged(conn: sa.Connection, model: str, ids: set[str]) -> dict[str, Logged]:
    p = predictions.c
    found: dict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(ids):
        query = sa.select(p.request_id, p.version, p.row_index).where(
            p.request_id.in_(chunk), p.model == model, p.status < 400, p.version.is_not(None))
        for rid, version, _row in conn.execute(query):
            found[rid].append(version)
    return {rid: Logged(versions[0], len(versions)) for rid, versions in found.items()}


def _version_kinds(conn: sa.Connection, model: str, versions: set[int]) -> dict[int, tuple[str, list]]:
    v = model_versions.c
    query = sa.select(v.version, v.task, v.labels).where(v.model == model, v.version.in_(sorted(versions)))
    return {version: (task, list(labels)) for version, task, labels in conn.execute(query)}


def _existing(conn: sa.Connection, ids: set[str]) -> dict[tuple[str, int], tuple]:
    g = ground_truth.c
    out = {}
    for chunk in _chunks(ids):
        query = sa.select(g.request_id, g.row_index, g.label, g.value).where(g.request_id.in_(chunk))
        out.update({(rid, j): (label, value) for rid, j, label, value in conn.execute(query)})
    return out

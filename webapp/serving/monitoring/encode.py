"""Encode a batch of log records as one flat list of column values, for multi-row INSERTs.

The writer thread shares its worker's GIL and cores with the requests, so every microsecond it
spends per row is taken from throughput. Nearly every record is a tabular model's answer: those are
encoded a version at a time with numpy (one concatenate, round and argmax per batch, not per row),
their features serialised by orjson straight from float32, and their values appended to one flat
list: no dict per row, nothing that outlives the batch. Every other record (images, recommenders
and chats, sensitive features, failures, odd shapes) goes through `rows.to_rows`, which says what
a row holds; the tests check that both ways give the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from webapp.serving.models.spec import ModelSpec

from .privacy import Protector
from .records import PredictionRecord
from .rows import COMMON, cached_monitoring_spec, common_values, to_rows
from .tables import predictions

ANSWER = ("inputs", "label", "confidence", "probabilities", "value")
COLUMNS = ("request_id", "row_index", *COMMON, *ANSWER)
assert set(COLUMNS) == {c.name for c in predictions.columns} - {"id"}, "a log column is not encoded"
_GET = itemgetter(*COLUMNS)
_JSON = (COLUMNS.index("inputs"), COLUMNS.index("probabilities"))
Invalid = Callable[[PredictionRecord, Exception], None]


@dataclass
class Encoded:
    values: list[Any] = field(default_factory=list)  # every row's COLUMNS values, row after row
    rows: int = 0
    requests: int = 0  # the requests behind those rows: what a failed insert drops


def encode(batch: list[PredictionRecord], protector: Protector, invalid: Invalid) -> Encoded:
    """The rows of `batch`, record after record; a record that cannot be encoded goes to `invalid`."""
    tabular, out = _tabular_answers(batch), Encoded()
    for rec in batch:
        answers = tabular.get(id(rec))
        if answers is not None:
            answers.emit(rec, out)
        else:
            _general(rec, protector, invalid, out)
    return out


class _Answers:
    """One version's tabular answers in a batch, encoded together; `emit` adds a record's rows."""

    def __init__(self, spec: ModelSpec, records: list[PredictionRecord]) -> None:
        x = np.concatenate([r.inputs for r in records]).astype(np.float32, copy=False)
        y = np.concatenate([r.outputs.reshape(len(r.outputs), -1) for r in records]).astype(np.float64)
        names, dumps, numpy = spec.feature_names, orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
        # float32 straight to orjson: its shortest decimal (5.1), as `rows._short` writes it
        self.inputs = [dumps(dict(zip(names, row, strict=True)), option=numpy).decode() for row in x]
        nothing = [None] * len(y)
        if spec.task == "classification":
            self.labels, self.confidences, self.probabilities = _classes(spec.labels, y)
            self.values = nothing
        else:
            self.labels = self.confidences = self.probabilities = nothing
            self.values = [v if math.isfinite(v) else None for v in y[:, 0].tolist()]
        self.starts: dict[int, int] = {}
        start = 0
        for r in records:
            self.starts[id(r)], start = start, start + len(r.inputs)

    def emit(self, rec: PredictionRecord, out: Encoded) -> None:
        start, common, ids, values = self.starts[id(rec)], common_values(rec), rec.row_ids, out.values
        rid = rec.request_id[:128]
        for i in range(len(rec.inputs)):
            k = start + i
            values += (ids[i][:128] if ids else rid, 0 if ids else i, *common, self.inputs[k],
                       self.labels[k], self.confidences[k], self.probabilities[k], self.values[k])
        out.rows += len(rec.inputs)
        out.requests += len(ids) if ids else 1


def _classes(labels: tuple[str, ...], y: np.ndarray) -> tuple[list, list, list]:
    """Top label, its probability and all of them (rounded to 6 places) for each row of `y`."""
    if not np.isfinite(y).all():
        raise ValueError("a probability is not finite")  # to_rows writes those as nulls
    rounded, top = np.round(y, 6), y.argmax(axis=1)  # float32 * 1e6 is exact: the same as round()
    names = [*labels, *(str(k) for k in range(len(labels), y.shape[1]))]
    confidences = rounded[np.arange(len(y)), top].tolist()
    return [names[t] for t in top.tolist()], confidences, [orjson.dumps(p).decode() for p in rounded.tolist()]


def _plain_tabular(rec: PredictionRecord) -> bool:
    """Whether `_Answers` encodes the record: features in the clear, one output row per input row."""
    spec, x, y = rec.spec, rec.inputs, rec.outputs
    if spec is None or rec.extra is not None or spec.input_kind != "tabular" \
            or not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        return False
    n = len(x) if x.ndim == 2 else 0
    return (n > 0 and y.ndim > 0 and len(y) == n and x.shape[1] == len(spec.features)
            and (rec.row_ids is None or len(rec.row_ids) == n)
            and not cached_monitoring_spec(spec).sensitive)


def _tabular_answers(batch: list[PredictionRecord]) -> dict[int, _Answers]:
    """The plain tabular records' answers by id(record); a version whose arrays do not stack is
    left to the general path (which drops only the records that cannot be encoded)."""
    by_spec: dict[int, list[PredictionRecord]] = {}
    for rec in batch:
        try:
            plain = _plain_tabular(rec)
        except Exception:  # whatever it is, the general path says so (and drops it alone)
            plain = False
        if plain:
            by_spec.setdefault(id(rec.spec), []).append(rec)
    found: dict[int, _Answers] = {}
    for records in by_spec.values():
        try:
            answers = _Answers(records[0].spec, records)  # type: ignore[arg-type]
        except Exception:  # the general path encodes them one by one, dropping only the bad
            continue
        found.update(dict.fromkeys(map(id, records), answers))
    return found


def _general(rec: PredictionRecord, protector: Protector, invalid: Invalid, out: Encoded) -> None:
    try:
        rows = to_rows(rec, protector)
        flat = [list(_GET(row)) for row in rows]
        for values in flat:
            for i in _JSON:
                values[i] = None if values[i] is None else orjson.dumps(values[i]).decode()
    except Exception as exc:  # a record we cannot encode must not sink its batch
        invalid(rec, exc)
        return
    for values in flat:
        out.values += values
    out.rows += len(rows)
    out.requests += len({row["request_id"] for row in rows})

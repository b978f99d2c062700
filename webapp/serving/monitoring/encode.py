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
from collections.abc import Callable, Iterator
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


def encode(batch: list[PredictionRecord], protector: Protector, invalid: Invalid,
           out: Encoded | None = None) -> Encoded:
    """The rows of `batch`, record after record, added to `out` (a new Encoded by default); a record
    that cannot be encoded goes to `invalid`."""
    tabular, out = _tabular_answers(batch), out if out is not None else Encoded()
    for rec in batch:
        answers = tabular.get(id(rec))
        if answers is not None:
            answers.emit(rec, out)
        else:
            _general(rec, protector, invalid, out)
    return out


def stretches(batch: list[PredictionRecord], rows: int) -> Iterator[list[PredictionRecord]]:
    """`batch` cut into runs of records of about `rows` rows each (a record is never split)."""
    start = count = 0
    for i, rec in enumerate(batch):
        x = rec.inputs
        count += len(x) if isinstance(x, np.ndarray) and x.ndim else 1
        if count >= rows:
            yield batch[start:i + 1]
            start, count = i + 1, 0
    if start < len(batch):
        yield batch[start:]


class _Answers:
    """One version's tabular answers in a batch, encoded together; `emit` adds a record's rows."""

    def __init__(self, spec: ModelSpec, records: list[PredictionRecord]) -> None:
        x = np.concatenate([r.inputs for r in records]).astype(np.float32, copy=False)
        y = np.concatenate([r.outputs.reshape(len(r.outputs), -1) for r in records]).astype(np.float64)
        self.inputs = _feature_objects(spec.feature_names, x)
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


def _feature_objects(names: list[str], x: np.ndarray) -> list[str]:
    """Each row of `x` as the JSON object {feature: value}: the whole batch through orjson at once
    (float32 as its shortest decimal, 5.1, as `rows._short` writes it; NaN as null), the numbers
    then put into a template of the quoted names: a third of a dict and a dumps per row."""
    if not names:
        raise ValueError("no features")  # the general path writes those
    template = "{" + ",".join(orjson.dumps(n).decode().replace("%", "%%") + ":%s" for n in names) + "}"
    text = orjson.dumps(x, option=orjson.OPT_SERIALIZE_NUMPY).decode()  # [[5.1,3.5],[...]]
    return [template % tuple(row.split(",")) for row in text[2:-2].split("],[")]


def _classes(labels: tuple[str, ...], y: np.ndarray) -> tuple[list, list, list]:
    """Top label, its probability and all of them (rounded to 6 places) for each row of `y`."""
    if not np.isfinite(y).all():
        raise ValueError("a probability is not finite")  # to_rows writes those as nulls
    rounded, top = np.round(y, 6), y.argmax(axis=1)  # float32 * 1e6 is exact: the same as round()
    names = [*labels, *(str(k) for k in range(len(labels), y.shape[1]))]
    confidences = rounded[np.arange(len(y)), top].tolist()
    return [names[t] for t in top.tolist()], confidences, [orjson.dumps(p).decode() for p in rounded.tolist()]


def _plain_features(spec: ModelSpec | None) -> int:
    """How many features a version's plain tabular rows have; -1 when `_Answers` cannot encode its
    records (no version, not tabular, a sensitive feature)."""
    if spec is None or spec.input_kind != "tabular" or cached_monitoring_spec(spec).sensitive:
        return -1
    return len(spec.features)


def _plain_tabular(rec: PredictionRecord, features: int) -> bool:
    """Whether `_Answers` encodes the record: features in the clear, one output row per input row."""
    x, y = rec.inputs, rec.outputs
    if features < 0 or rec.extra is not None or not isinstance(x, np.ndarray) \
            or not isinstance(y, np.ndarray) or x.ndim != 2:
        return False
    n = len(x)
    return (n > 0 and y.ndim > 0 and len(y) == n and x.shape[1] == features
            and (rec.row_ids is None or len(rec.row_ids) == n))


def _tabular_answers(batch: list[PredictionRecord]) -> dict[int, _Answers]:
    """The plain tabular records' answers by id(record); a version whose arrays do not stack is
    left to the general path (which drops only the records that cannot be encoded)."""
    by_spec: dict[int, list[PredictionRecord]] = {}
    features: dict[int, int] = {}  # by id(spec): the few versions of a batch, checked once each
    for rec in batch:
        try:
            found = features.get(id(rec.spec))
            if found is None:
                found = features[id(rec.spec)] = _plain_features(rec.spec)
            plain = _plain_tabular(rec, found)
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

"""Export a model's log with its ground truth for retraining: CSV (streamed) or Parquet (pyarrow).

One row per predicted instance: who/when/how, one column per feature (image models: the digest and
the three statistics), the answer (label, confidence, one `p_<label>` per class, or the value) and
the truth. Sensitive features stay hashed; encrypted ones are decrypted only when `reveal` is asked
for and the key is set. Rows are read in batches through a streaming cursor, never all at once.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa

from webapp.serving.errors import NotFound

from .database import LogDatabase, read
from .privacy import Protector
from .tables import ground_truth, model_versions, predictions

BASE = ["request_id", "client_request_id", "logged_at", "model", "version", "chosen_by", "caller",
        "source", "status", "latency_s", "row_index"]
BATCH = 2000


@dataclass(frozen=True)
class Layout:
    features: list[str]
    sensitive: set[str]
    labels: list[str]
    image: bool

    @property
    def columns(self) -> list[str]:
        answer = ["label", "confidence", *[f"p_{label}" for label in self.labels]] if self.labels \
            else ["value"]
        inputs = ["input_sha256", *self.features] if self.image else self.features
        return [*BASE, *inputs, *answer, "truth"]


def layout(db: LogDatabase, model: str) -> Layout:
    """Columns for a model, from every version the log has seen; raises NotFound for none."""
    v = model_versions.c
    query = sa.select(v.features, v.sensitive, v.labels).where(v.model == model).order_by(v.version)
    found = read(db, lambda conn: conn.execute(query).all())
    if not found:
        raise NotFound(f"The prediction log has nothing for model {model!r}")
    features, sensitive, labels = [], set(), []
    for feats, sens, labs in found:
        features += [f for f in feats if f not in features]
        sensitive |= set(sens)
        labels += [label for label in labs if label not in labels]
    image = features == ["brightness", "contrast", "ink"] and not sensitive
    return Layout(features, sensitive, labels, image)


def _flatten(row: Any, shape: Layout, protector: Protector | None) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in BASE}
    out["logged_at"] = dt.datetime.fromtimestamp(row.logged_at, dt.UTC).isoformat()
    inputs = row.inputs or {}
    if shape.image:
        out["input_sha256"] = inputs.get("sha256")
        inputs = inputs.get("stats") or {}
    for name in shape.features:
        value = inputs.get(name)
        if name in shape.sensitive:
            value = protector.reveal(value) if protector is not None else value
            value = None if value is None else str(value)
        out[name] = value
    if shape.labels:
        out["label"], out["confidence"] = row.label, row.confidence
        probs = row.probabilities or []
        for i, label in enumerate(shape.labels):
            out[f"p_{label}"] = probs[i] if i < len(probs) else None
        out["truth"] = row.truth_label
    else:
        out["value"], out["truth"] = row.value, row.truth_value
    return out


def rows(db: LogDatabase, model: str, since: float | None = None, until: float | None = None,
         reveal: Protector | None = None) -> tuple[Layout, Iterator[dict[str, Any]]]:
    """The layout and an iterator over flattened rows, oldest first."""
    shape = layout(db, model)
    p, g = predictions.c, ground_truth.c
    query = (sa.select(predictions, g.label.label("truth_label"), g.value.label("truth_value"))
             .select_from(predictions.outerjoin(ground_truth, sa.and_(
                 g.request_id == p.request_id, g.row_index == p.row_index)))
             .where(p.model == model).order_by(p.id))
    if since is not None:
        query = query.where(p.logged_at >= since)
    if until is not None:
        query = query.where(p.logged_at < until)

    def generate() -> Iterator[dict[str, Any]]:
        with db.engine.connect() as conn:
            result = conn.execution_options(yield_per=BATCH).execute(query)
            for row in result:
                yield _flatten(row, shape, reveal)

    return shape, generate()


def write_csv(db: LogDatabase, model: str, out: IO[str], **options: Any) -> int:
    """Write the export as CSV with a header; returns the number of rows."""
    shape, found = rows(db, model, **options)
    writer = csv.DictWriter(out, fieldnames=shape.columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for count, row in enumerate(found, 1):  # noqa: B007 (count is the result)
        writer.writerow(row)
    return count


def write_parquet(db: LogDatabase, model: str, out: Any, **options: Any) -> int:
    """Write the export as one Parquet file (path or binary file object); returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shape, found = rows(db, model, **options)
    schema = pa.schema([(name, _arrow_type(pa, shape, name)) for name in shape.columns])
    count, batch = 0, []
    with pq.ParquetWriter(out, schema) as writer:
        for row in found:
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                count, batch = count + len(batch), []
        writer.write_table(pa.Table.from_pylist(batch, schema))
    return count + len(batch)


def _arrow_type(pa: Any, shape: Layout, name: str) -> Any:
    if name in ("version", "status", "row_index"):
        return pa.int64()
    if name in ("latency_s", "confidence", "value") or name.startswith("p_"):
        return pa.float64()
    if name in shape.features and name not in shape.sensitive:
        return pa.float64()
    if name == "truth" and not shape.labels:
        return pa.float64()
    return pa.string()

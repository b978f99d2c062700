"""Turn a PredictionRecord into log rows (on the writer's thread): one row per predicted instance.

Tabular inputs become {feature: value} with sensitive features hashed or encrypted; images become a
digest, three statistics drift is measured on, and the small preprocessed tensor (never the upload,
unless the manifest's `monitoring.store_uploads` says so).
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any

import numpy as np

from webapp.serving.models.spec import ModelSpec

from .kinds import kind_rows
from .privacy import Protector
from .records import PredictionRecord
from .settings import MonitoringSpec, monitoring_spec

MAX_TENSOR_VALUES = 4096  # a 64x64 grey image; larger tensors keep only the digest and statistics
IMAGE_STATS = ("brightness", "contrast", "ink")


def image_stats(tensor: np.ndarray, scale: float) -> dict[str, float]:
    """Brightness (mean), contrast (std) and ink fraction (share above half scale), all in 0..1."""
    x = np.asarray(tensor, dtype=np.float64) / (scale or 1.0)
    return {"brightness": round(float(x.mean()), 6), "contrast": round(float(x.std()), 6),
            "ink": round(float((x > 0.5).mean()), 6)}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _short(value: float) -> float | None:
    """A float32 input as its shortest faithful decimal (5.1, not float64's 5.0999999046325684)."""
    return float(str(_F32(value))) if math.isfinite(value) else None


_F32 = np.float32


def _tabular(spec: ModelSpec, mon: MonitoringSpec, row: np.ndarray,
             protector: Protector) -> dict[str, Any]:
    names, values = spec.feature_names, row.tolist()
    if not mon.sensitive:
        return {name: _short(value) for name, value in zip(names, values, strict=False)}
    return {name: protector.protect(value, mon.sensitive_mode, spec.name) if name in mon.sensitive
            else _short(value) for name, value in zip(names, values, strict=False)}


def _image(spec: ModelSpec, mon: MonitoringSpec, tensor: np.ndarray,
           upload: bytes | None) -> dict[str, Any]:
    assert spec.image is not None
    source = upload if upload is not None else np.ascontiguousarray(tensor).tobytes()
    out: dict[str, Any] = {"sha256": hashlib.sha256(source).hexdigest(),
                           "stats": image_stats(tensor, spec.image.scale)}
    if tensor.size <= MAX_TENSOR_VALUES:
        out["tensor"] = np.round(tensor.astype(np.float64), 4).tolist()
    if upload is not None and mon.store_uploads:
        out["upload"] = base64.b64encode(upload).decode()
    return out


def _inputs(rec: PredictionRecord, mon: MonitoringSpec | None, i: int,
            protector: Protector) -> dict[str, Any] | None:
    spec, batch = rec.spec, rec.inputs
    if spec is None or mon is None or batch is None or i >= len(batch):
        return None
    if spec.image is not None:
        upload = rec.uploads[i] if rec.uploads and i < len(rec.uploads) else None
        return _image(spec, mon, batch[i], upload)
    return _tabular(spec, mon, batch[i], protector)


def _outputs(spec: ModelSpec | None, out: np.ndarray | None, i: int) -> dict[str, Any]:
    if spec is None or out is None or i >= len(out):
        return {}
    if spec.task == "classification":
        values = out[i].ravel().tolist()
        probs = [_finite(round(p, 6)) for p in values]
        top = values.index(max(values))
        return {"label": spec.labels[top] if top < len(spec.labels) else str(top),
                "confidence": probs[top], "probabilities": probs}
    return {"value": _finite(float(out[i].ravel()[0]))}


def _count(rec: PredictionRecord) -> int:
    for array in (rec.outputs, rec.inputs):
        if array is not None and len(array):
            return len(array)
    return 1  # a failed request still leaves one row (status, latency, who asked)


_EMPTY = {"inputs": None, "label": None, "confidence": None, "probabilities": None, "value": None}
_parsed: dict[int, tuple[ModelSpec, MonitoringSpec]] = {}


def cached_monitoring_spec(spec: ModelSpec) -> MonitoringSpec:
    """A version's monitoring object, parsed once per spec (the writer meets the same few specs)."""
    found = _parsed.get(id(spec))
    if found is None or found[0] is not spec:
        if len(_parsed) > 256:  # versions come and go: keep the cache small
            _parsed.clear()
        found = _parsed[id(spec)] = (spec, monitoring_spec(spec))
    return found[1]


def to_rows(rec: PredictionRecord, protector: Protector) -> list[dict[str, Any]]:
    """The log rows for one record, ready for `prediction_log.insert()`.

    Rows share the record's request id (row_index 0, 1, ...) unless the record names one id per
    row (a CSV job's rows): then each row is a request of its own, row_index 0.
    """
    common = {"request_id": rec.request_id[:128], "client_request_id": (rec.client_request_id or None),
              "logged_at": rec.logged_at, "model": rec.model, "version": rec.version,
              "chosen_by": rec.chosen_by, "caller": rec.caller and rec.caller[:128],
              "source": rec.source, "status": rec.status, "latency_s": rec.latency_s,
              "sample_rate": rec.sample_rate}
    mon = cached_monitoring_spec(rec.spec) if rec.spec is not None else None
    if mon is not None and rec.extra is not None and "question" in rec.extra:  # a recommender or chat
        return _kind_rows(rec, mon, common, protector)
    ids = rec.row_ids
    rows = []
    for i in range(_count(rec)):
        row = {**common, "row_index": i, "inputs": _inputs(rec, mon, i, protector), "label": None,
               "confidence": None, "probabilities": None, "value": None}
        if ids is not None:
            row["request_id"], row["row_index"] = ids[i][:128], 0
        row.update(_outputs(rec.spec, rec.outputs, i))
        rows.append(row)
    return rows


def _kind_rows(rec: PredictionRecord, mon: MonitoringSpec, common: dict[str, Any],
               protector: Protector) -> list[dict[str, Any]]:
    """A recommender's or chat's rows; with an id per row, each row a request of its own (row_index 0)."""
    rows = kind_rows(rec.model, mon, rec.extra or {}, protector)
    if rec.kept_rows is not None:  # sampling kept some of a CSV chunk's rows
        rows = [rows[i] for i in rec.kept_rows]
    if rec.row_ids is None:
        return [{**common, **_EMPTY, "row_index": i, **row} for i, row in enumerate(rows)]
    return [{**common, **_EMPTY, **row, "request_id": rid[:128], "row_index": 0}
            for rid, row in zip(rec.row_ids, rows, strict=True)]


def version_row(spec: ModelSpec, now: float) -> dict[str, Any]:
    """What the log remembers about a version, so feedback and exports outlive its files."""
    held = {k: v for k, v in spec.metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {"model": spec.name, "version": spec.version, "task": spec.task,
            "labels": list(spec.labels), "features": spec.feature_names if spec.image is None
            else list(IMAGE_STATS), "sensitive": sorted(cached_monitoring_spec(spec).sensitive),
            "heldout_metrics": held, "first_seen": now}

"""Drift, live and estimated quality, and the A/B table for a model, from the log's recent window.

`compute` runs in the background job (never on a request's path), stores the summary in the log's
database (so every worker and instance reads the same) and sets the Prometheus gauges; `summary`
is what pages and APIs render: one indexed read of a plain dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sqlalchemy as sa

from . import metrics
from .abtest import compare
from .database import LogDatabase, read
from .drift import column_drift, dataset_drift
from .hits import hit_rate
from .prepared import Prepared, VersionSource, prepare
from .quality import classifier_quality, regressor_quality
from .rows import IMAGE_STATS
from .settings import KIND_FIELDS, MonitoringSpec, monitoring_spec
from .tables import monitor_results
from .timeline import timeline
from .window import LoggedRow, recent

Sources = Callable[[str], dict[int, VersionSource]]


def _quality(source: VersionSource, rows: list[LoggedRow]) -> dict[str, Any]:
    spec = source.spec
    done = [r for r in rows if r.labelled and r.status < 400]
    if spec.task == "recommendation":
        return hit_rate(done)
    if spec.task == "chat":
        return {"labelled": 0}
    if spec.task == "classification":
        done = [r for r in done if r.label is not None and r.truth_label is not None]
        return classifier_quality(list(spec.labels), [r.label for r in done],
                                  [r.truth_label for r in done], [r.probabilities for r in done])
    done = [r for r in done if r.value is not None and r.truth_value is not None]
    return regressor_quality([r.value for r in done], [r.truth_value for r in done])


def _current_columns(source: VersionSource, rows: list[LoggedRow]) -> dict[str, list]:
    spec = source.spec
    names = list(IMAGE_STATS) if spec.image is not None else spec.feature_names
    columns: dict[str, list] = {name: [] for name in names}
    for r in rows:
        values = (r.inputs or {}).get("stats", {}) if spec.image is not None else (r.inputs or {})
        for name in names:
            v = values.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool):
                columns[name].append(v)
    return columns


def _drift(source: VersionSource, mon: MonitoringSpec, prep: Prepared,
           rows: list[LoggedRow]) -> dict[str, Any]:
    current = _current_columns(source, rows)
    columns = {}
    for name, values in current.items():
        if name in mon.sensitive:
            columns[name] = {"verdict": False, "reason": f"sensitive ({mon.sensitive_mode}ed in the log)"}
        elif name not in prep.columns:
            columns[name] = {"verdict": False, "reason": "no reference values"}
        else:
            columns[name] = column_drift(prep.columns[name], values, mon.drift, name in mon.categorical)
    return dataset_drift(columns, mon.drift)


def _prediction_drift(source: VersionSource, mon: MonitoringSpec, prep: Prepared,
                      rows: list[LoggedRow]) -> dict[str, Any]:
    if not prep.answers:
        return {"verdict": False, "reason": "no answers on reference rows"}
    if source.spec.task == "classification":
        index = {label: i for i, label in enumerate(source.spec.labels)}
        ref = [index[a] for a in prep.answers]
        cur = [index[r.label] for r in rows if r.label in index]
        return column_drift(ref, cur, mon.drift, categorical=True)
    return column_drift(prep.answers, [r.value for r in rows if r.value is not None], mon.drift)


def _kind_version(source: VersionSource, rows: list[LoggedRow], since: float, now: float,
                  mon: MonitoringSpec) -> dict[str, Any]:
    """A recommender's or chat's figures: requests, errors, latency, live quality; drift is skipped
    (ids and conversations have no feature distribution to compare with a reference)."""
    spec = source.spec
    requests = [r for r in rows if r.row_index == 0]
    latencies = [r.latency_s for r in requests]
    skipped = {"verdict": False, "reason": f"drift does not apply to {spec.task} models"}
    return {"version": spec.version, "task": spec.task, "rows": len(rows), "requests": len(requests),
            "errors": sum(1 for r in requests if r.status >= 400),
            "latency_p95_s": round(float(np.percentile(latencies, 95)), 6) if latencies else None,
            "quality": _quality(source, rows), "heldout": dict(spec.metrics), "estimated": None,
            "reference": {"source": None, "rows": 0}, "drift": skipped, "prediction_drift": skipped,
            "timeline": timeline(rows, now, False),
            "window": {"since": since, "hours": mon.drift.window_hours, "max_rows": mon.drift.max_rows}}


class Monitor:
    """Computes and stores per-model monitoring summaries; thread-safe for one job at a time."""

    def __init__(self, db: LogDatabase, sources: Sources, clock: Callable[[], float] = time.time) -> None:
        self.db, self.sources, self.clock = db, sources, clock
        self._prepared: dict[tuple[str, int, str], Prepared] = {}

    def _prepare(self, source: VersionSource) -> Prepared:
        spec = source.spec
        key = (spec.name, spec.version, str(spec.path))
        if key not in self._prepared:
            self._prepared[key] = prepare(source)
        return self._prepared[key]

    def _version(self, conn: sa.Connection, source: VersionSource, now: float) -> tuple[dict, list]:
        spec, mon = source.spec, monitoring_spec(source.spec)
        since = now - mon.drift.window_hours * 3600
        rows = recent(conn, spec.name, spec.version, since, mon.drift.max_rows)
        served = [r for r in rows if r.status < 400]
        if spec.task in KIND_FIELDS:  # a recommender or a chat: no features to drift
            return _kind_version(source, rows, since, now, mon), rows
        prep = self._prepare(source)
        estimated = {"accuracy": None, "reason": prep.calibration_problem}
        if prep.calibrator is not None:
            estimated = prep.calibrator.estimate(np.array([r.confidence for r in reversed(served)
                                                           if r.confidence is not None]), chunks=10)
        requests = [r for r in rows if r.row_index == 0]
        latencies = [r.latency_s for r in requests]
        result = {
            "version": spec.version, "task": spec.task, "rows": len(rows), "requests": len(requests),
            "errors": sum(1 for r in requests if r.status >= 400),
            "latency_p95_s": round(float(np.percentile(latencies, 95)), 6) if latencies else None,
            "quality": _quality(source, rows), "heldout": dict(spec.metrics),
            "estimated": estimated if spec.task == "classification" else None,
            "reference": {"source": prep.reference_source, "rows": prep.reference_rows},
            "drift": _drift(source, mon, prep, served),
            "prediction_drift": _prediction_drift(source, mon, prep, served),
            "timeline": timeline(rows, now, spec.task == "classification"),
            "window": {"since": since, "hours": mon.drift.window_hours, "max_rows": mon.drift.max_rows},
        }
        return result, rows

    def compute(self, model: str) -> dict[str, Any]:
        """Compute the model's summary now, store it and publish its gauges; returns it."""
        now = self.clock()
        sources = self.sources(model)
        with self.db.engine.connect() as conn:
            computed = {v: self._version(conn, src, now) for v, src in sorted(sources.items())}
        versions = {v: result for v, (result, _) in computed.items()}
        all_rows = [r for _, rows in computed.values() for r in rows]
        summary = {"model": model, "computed_at": now,
                   "versions": {str(v): r for v, r in versions.items()},
                   "ab": compare(all_rows, versions)}
        summary = _plain(summary)
        self.db.attempt(lambda conn: _store(conn, model, now, summary))
        for v, result in versions.items():
            metrics.publish_version(model, v, result)
        metrics.MONITOR_RUN.set(now)
        return summary

    def summary(self, model: str) -> dict[str, Any] | None:
        """The latest stored summary (None before the first run); raises LogUnavailable."""
        r = monitor_results.c
        query = sa.select(r.summary).where(r.model == model)
        row = read(self.db, lambda conn: conn.execute(query).first())
        return dict(row[0]) if row else None


def _store(conn: sa.Connection, model: str, now: float, summary: dict[str, Any]) -> None:
    conn.execute(monitor_results.delete().where(monitor_results.c.model == model))
    conn.execute(monitor_results.insert().values(model=model, computed_at=now, summary=summary))


def _plain(value: Any) -> Any:
    """numpy scalars and non-finite floats out, so the summary is valid JSON on both databases."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

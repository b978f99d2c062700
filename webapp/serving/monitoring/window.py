"""Read the recent window of the log for one model: rows with their ground truth, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .tables import ground_truth, model_versions, predictions


@dataclass(frozen=True)
class LoggedRow:
    request_id: str
    row_index: int
    version: int | None
    chosen_by: str
    status: int
    latency_s: float
    inputs: dict[str, Any] | None
    label: str | None
    confidence: float | None
    probabilities: list[float | None] | None
    value: float | None
    truth_label: str | None
    truth_value: float | None
    logged_at: float = 0.0

    @property
    def labelled(self) -> bool:
        return self.truth_label is not None or self.truth_value is not None


def recent(conn: sa.Connection, model: str, version: int, since: float, limit: int) -> list[LoggedRow]:
    """The newest `limit` rows of a version logged after `since`, each with its truth if any."""
    p, g = predictions.c, ground_truth.c
    query = (sa.select(p.request_id, p.row_index, p.version, p.chosen_by, p.status, p.latency_s,
                       p.inputs, p.label, p.confidence, p.probabilities, p.value,
                       g.label.label("truth_label"), g.value.label("truth_value"), p.logged_at)
             .select_from(predictions.outerjoin(ground_truth, sa.and_(
                 g.request_id == p.request_id, g.row_index == p.row_index)))
             .where(p.model == model, p.version == version, p.logged_at >= since)
             .order_by(p.logged_at.desc(), p.id.desc()).limit(limit))
    return [LoggedRow(*row) for row in conn.execute(query)]


def logged_models(conn: sa.Connection) -> list[str]:
    """Every model the log has seen a version of."""
    return sorted({row[0] for row in conn.execute(sa.select(model_versions.c.model).distinct())})


def version_infos(conn: sa.Connection, model: str) -> dict[int, dict[str, Any]]:
    v = model_versions.c
    query = sa.select(v.version, v.task, v.labels, v.features, v.heldout_metrics).where(v.model == model)
    return {version: {"task": task, "labels": list(labels), "features": list(features),
                      "heldout_metrics": dict(metrics)}
            for version, task, labels, features, metrics in conn.execute(query)}

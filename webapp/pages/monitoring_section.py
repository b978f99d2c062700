"""The Monitoring section of a model page: drift per feature with small histograms, live against
held-out quality, estimated accuracy, answers over time, the A/B table, alerts and the log's health.
The figures come from the background job's stored summary; a page computes only the alerts.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from webapp.extensions import monitoring
from webapp.http.monitoring import log_health, model_report
from webapp.pages.charts import histogram_svg, legend, timeline_svg
from webapp.pages.ops import log_totals, read_snapshots, snapshot_dir
from webapp.serving.errors import ServingError


def monitoring_context(name: str, version: int | None) -> dict[str, Any] | None:
    """What the section shows for the version on the page; None when monitoring is off."""
    if monitoring() is None:
        return None
    try:
        report = model_report(name)
    except ServingError as exc:  # the database is down: the section says so, the page still works
        return {"problem": exc.message, "log": _log()}
    summary = report["summary"] or {}
    shown = (summary.get("versions") or {}).get(str(version)) if version is not None else None
    labels = _labels(shown)
    return {**report, "shown": shown, "features": _features(shown), "ab": summary.get("ab"),
            "computed_text": _when(report["computed_at"]),
            "timeline": timeline_svg(shown and shown.get("timeline"), labels), "legend": legend(labels),
            "answers": _answer_drift(shown), "log": _log()}


def _when(moment: float | None) -> str:
    if moment is None:
        return ""
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({max(0, int(time.time() - moment))} s ago)"


def _labels(shown: dict[str, Any] | None) -> list[str]:
    buckets = ((shown or {}).get("timeline") or {}).get("buckets") or []
    return sorted({label for b in buckets for label in (b.get("shares") or {})})


def _features(shown: dict[str, Any] | None) -> list[dict[str, Any]]:
    columns = (((shown or {}).get("drift") or {}).get("features")) or {}
    return [{"name": name, **column, "svg": histogram_svg(column.get("histogram"), name)}
            for name, column in columns.items()]


def _answer_drift(shown: dict[str, Any] | None) -> dict[str, Any] | None:
    column = (shown or {}).get("prediction_drift")
    if not column:
        return None
    return {**column, "svg": histogram_svg(column.get("histogram"), "answers")}


def _log() -> dict[str, Any] | None:
    """The prediction log over every worker (this one live, the others from their snapshots)."""
    own = {"pid": os.getpid(), "log": log_health()}
    return log_totals(read_snapshots(snapshot_dir(), own))

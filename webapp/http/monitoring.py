"""Monitoring as every HTTP surface shows it: a model's report (the stored summary and the alerts it
raises), ground truth in, the log out as CSV or Parquet, and the prediction log's own health.

Everything here reads the database or queues work for the background job; nothing computes drift
or quality on a request's path. With MONITORING off, each answers 404 saying so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from flask import Response, send_file, stream_with_context

from webapp.extensions import monitoring, service
from webapp.serving.errors import InvalidInput, ModelNotFound, NotFound
from webapp.serving.monitored import Monitoring
from webapp.serving.monitoring import export
from webapp.serving.monitoring.alerts import model_alerts

FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
CSV_FLUSH_ROWS = 1000


def watching() -> Monitoring:
    """This worker's monitoring; raises NotFound when PODIUM_MONITORING is off."""
    found = monitoring()
    if found is None:
        raise NotFound("Monitoring is turned off on this server (PODIUM_MONITORING=false)")
    return found


def model_report(name: str) -> dict[str, Any]:
    """The latest summary of a model (None before its first round) with the alerts it raises.

    Raises NotFound (monitoring off), ModelNotFound for a model neither served nor monitored,
    LogUnavailable (503) while the database does not answer.
    """
    mon = watching()
    summary = mon.monitor.summary(name)
    if summary is None and not service().has_model(name):
        raise ModelNotFound(name)
    alerts = [asdict(a) for a in model_alerts(summary)] if summary else []
    return {"model": name, "computed_at": summary["computed_at"] if summary else None,
            "summary": summary, "alerts": alerts, "error": mon.job.errors.get(name),
            "interval_seconds": mon.job.interval_s}


def request_round(name: str) -> None:
    """Ask the background job to recompute one model soon; raises NotFound / ModelNotFound."""
    mon = watching()
    if not service().has_model(name):
        raise ModelNotFound(name)
    mon.job.request(name)


def record_truths(name: str, pairs: list[tuple[Any, Any]]) -> dict[str, int]:
    """Store ground truth; raises InvalidInput, NotFound, Conflict, LogUnavailable."""
    return watching().feedback.record(name, pairs)


def log_health() -> dict[str, Any]:
    """This worker's prediction log (queue, drops, lag, database) and the job's last errors."""
    mon = watching()
    return {**mon.log.stats(), "monitor": {"last_run": mon.job.last_run, "errors": dict(mon.job.errors),
                                           "interval_seconds": mon.job.interval_s}}


def parse_time(text: str | None, name: str) -> float | None:
    """Seconds since the epoch from a query parameter: ISO 8601 (UTC unless it says) or a number."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"'{name}' must be an ISO 8601 time or seconds since the epoch, "
                           f"got {text[:40]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def export_response(name: str, fmt: str, since: float | None = None, until: float | None = None,
                    reveal: bool = False) -> Response:
    """The model's log with its truths as a download; raises InvalidInput, NotFound, LogUnavailable."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}")
    mon = watching()
    options = {"since": since, "until": until, "reveal": mon.log.protector if reveal else None}
    filename = f"{name}-prediction-log.{fmt}"
    if fmt == "parquet":
        out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
        export.write_parquet(mon.database, name, out, **options)
        out.seek(0)
        return send_file(out, mimetype=FORMATS[fmt], as_attachment=True, download_name=filename, max_age=0)
    shape, rows = export.rows(mon.database, name, **options)
    response = Response(stream_with_context(_csv_chunks(shape.columns, rows)), mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_chunks(columns: list[str], rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % CSV_FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

"""The ops page: readiness, resources and request figures for every worker, refreshed live.

Each gunicorn worker holds its own counters, and a poll reaches only one of them, so every worker
writes a snapshot of its figures to `<instance>/workers/<host>-<pid>.json` every few seconds (and on
each poll it answers); the page reads all fresh snapshots, whichever worker answers. Instances that
share one instance folder show every worker of the service (pids repeat across containers: the
host name keeps them apart).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template

from webapp.extensions import monitoring, service
from webapp.http.monitoring import model_report
from webapp.pages.access import check_post, current_user, login_needed
from webapp.serving.errors import ServingError
from webapp.serving.models.store import atomic_write_json
from webapp.serving.monitored import Monitoring
from webapp.serving.monitoring.metrics import set_ready
from webapp.serving.service import ModelService
from webapp.serving.telemetry import stats

bp = Blueprint("ops_pages", __name__, url_prefix="/ops")
SNAPSHOT_EVERY = 5.0
FRESH_FOR = 20.0
_writers: dict[int, threading.Thread] = {}
_writers_lock = threading.Lock()


HOST = socket.gethostname()


def snapshot_dir() -> Path:
    return Path(current_app.instance_path) / "workers"


def write_snapshot(model_service: ModelService, folder: Path, watch: Monitoring | None) -> dict[str, Any]:
    """This worker's process figures, per-version counters and prediction log figures, written
    where other workers read; it also refreshes the worker's readiness gauge."""
    ready = model_service.ready()
    set_ready(ready)
    doc = {"pid": os.getpid(), "host": HOST, "time": time.time(), "process": stats.process_stats(),
           "models": stats.model_stats(model_service), "ready": ready,
           "log": watch.log.stats() if watch is not None else None}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / f"{HOST}-{os.getpid()}.json", doc)
    return doc


def start_snapshots(app: Flask) -> None:
    """One daemon thread per worker process writes its snapshot every few seconds."""
    pid = os.getpid()
    if pid in _writers:
        return
    with _writers_lock:
        if pid in _writers:
            return
        with app.app_context():
            model_service, watch = service(), monitoring()
        folder = Path(app.instance_path) / "workers"

        def loop() -> None:
            while True:
                # a full disk must not kill the worker; the page shows stale figures
                with contextlib.suppress(OSError):
                    write_snapshot(model_service, folder, watch)
                time.sleep(SNAPSHOT_EVERY)

        _writers[pid] = threading.Thread(target=loop, name="podium-ops-snapshot", daemon=True)
        _writers[pid].start()


def read_snapshots(folder: Path, own: dict[str, Any]) -> list[dict[str, Any]]:
    """Fresh snapshots of every worker, the answering one first; stale files are removed."""
    now, found = time.time(), [own]
    for path in sorted(folder.glob("*.json")):
        if path.stem == f"{own.get('host', HOST)}-{own['pid']}":
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if now - doc.get("time", 0) > FRESH_FOR:
            path.unlink(missing_ok=True)
            continue
        found.append(doc)
    return found


def overview() -> dict[str, Any]:
    own = write_snapshot(service(), snapshot_dir(), monitoring())
    workers = read_snapshots(snapshot_dir(), own)
    return {"answered_by": own["pid"], "time": own["time"], "ready": service().ready(),
            "system": stats.system_stats(str(service().store.root)), "workers": workers,
            "models": totals(workers), "log": log_totals(workers),
            "monitoring": model_alerts() if monitoring() is not None else None}


def log_totals(workers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The prediction log over every worker: queued, written, drops by reason, worst lag, database."""
    logs = [w["log"] for w in workers if w.get("log")]
    if not logs:
        return None
    dropped: dict[str, int] = {}
    for one in logs:
        for reason, count in one["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    failing = [one["database"] for one in logs if not one["database"]["ok"]]
    return {"workers": len(logs), "queued": sum(one["queued"] for one in logs),
            "written_rows": sum(one["written_rows"] for one in logs), "dropped": dropped,
            "dropped_total": sum(dropped.values()), "lag_seconds": max(one["lag_seconds"] for one in logs),
            "database": failing[0] if failing else logs[0]["database"],
            "sample_rate": logs[0]["default_sample_rate"], "sample_rates": logs[0]["sample_rates"]}


def model_alerts() -> dict[str, Any]:
    """Per served model: when it was last computed and the alerts its summary raises."""
    found: dict[str, Any] = {}
    for name in sorted(service().models()):
        try:
            report = model_report(name)
        except ServingError as exc:  # the database is down: say so, keep the rest of the page
            found[name] = {"computed_at": None, "alerts": [], "error": exc.message}
            continue
        found[name] = {key: report[key] for key in ("computed_at", "alerts", "error")}
        found[name]["drifted"] = _drifted(report["summary"])
        found[name]["live"] = live_quality(report["summary"])
    return found


def live_quality(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each version's live figures that have a held-out twin (accuracy, a recommender's hit_rate@k)."""
    versions = (summary or {}).get("versions") or {}
    return [{"version": v, "metric": key, "live": value, "heldout": r["heldout"][key],
             "labelled": r["quality"].get("labelled", 0)}
            for v, r in sorted(versions.items(), key=lambda item: int(item[0]))
            for key, value in sorted((r.get("quality") or {}).items()) if key in (r.get("heldout") or {})]


def _drifted(summary: dict[str, Any] | None) -> list[str]:
    versions = (summary or {}).get("versions") or {}
    return sorted({f"v{v}: {name}" for v, r in versions.items()
                   for name in ((r.get("drift") or {}).get("drifted_features") or [])})


def totals(workers: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model: readiness per version (as the answering worker sees it) and summed counters."""
    out: dict[str, Any] = {}
    for index, worker in enumerate(workers):
        for name, model in worker["models"].items():
            entry = out.setdefault(name, {"default_version": model["default_version"], "versions": {},
                                          "requests": 0, "errors": 0, "rows": 0, "latency_ms": 0.0})
            for number, info in model["versions"].items():
                if index == 0:
                    entry["versions"][number] = {"state": info["state"], "reason": info["reason"],
                                                 "call_path": info["call_path"]}
                entry["requests"] += info["requests"]
                entry["errors"] += info["errors"]
                entry["rows"] += info["rows"]
                entry["latency_ms"] += (info["mean_latency_ms"] or 0.0) * info["requests"]
    for entry in out.values():
        entry["mean_latency_ms"] = entry.pop("latency_ms") / entry["requests"] if entry["requests"] else None
    return out


@bp.before_request
def guard():
    if current_user() is None:
        return login_needed()
    check_post()
    return None


@bp.get("")
def page():
    return render_template("ops/ops.html", data=overview())


@bp.get("/stats.json")
def stats_json():
    return jsonify(overview())

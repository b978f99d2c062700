"""The ops page: readiness, resources and request figures for every worker, refreshed live.

Each gunicorn worker holds its own counters, and a poll reaches only one of them, so every worker
writes a snapshot of its figures to `<instance>/workers/<pid>.json` every few seconds (and on each
poll it answers); the page reads all fresh snapshots, whichever worker answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template

from webapp.extensions import service
from webapp.pages.access import check_post, current_user, login_needed
from webapp.serving.models.store import atomic_write_json
from webapp.serving.service import ModelService
from webapp.serving.telemetry import stats

bp = Blueprint("ops_pages", __name__, url_prefix="/ops")
SNAPSHOT_EVERY = 5.0
FRESH_FOR = 20.0
_writers: dict[int, threading.Thread] = {}
_writers_lock = threading.Lock()


def snapshot_dir() -> Path:
    return Path(current_app.instance_path) / "workers"


def write_snapshot(model_service: ModelService, folder: Path) -> dict[str, Any]:
    """This worker's process figures and per-version counters, written where other workers read."""
    doc = {"pid": os.getpid(), "time": time.time(), "process": stats.process_stats(),
           "models": stats.model_stats(model_service)}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / f"{os.getpid()}.json", doc)
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
            model_service = service()
        folder = Path(app.instance_path) / "workers"

        def loop() -> None:
            while True:
                # a full disk must not kill the worker; the page shows stale figures
                with contextlib.suppress(OSError):
                    write_snapshot(model_service, folder)
                time.sleep(SNAPSHOT_EVERY)

        _writers[pid] = threading.Thread(target=loop, name="podium-ops-snapshot", daemon=True)
        _writers[pid].start()


def read_snapshots(folder: Path, own: dict[str, Any]) -> list[dict[str, Any]]:
    """Fresh snapshots of every worker, the answering one first; stale files are removed."""
    now, found = time.time(), [own]
    for path in sorted(folder.glob("*.json")):
        if path.stem == str(own["pid"]):
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
    own = write_snapshot(service(), snapshot_dir())
    workers = read_snapshots(snapshot_dir(), own)
    return {"answered_by": own["pid"], "time": own["time"], "ready": service().ready(),
            "system": stats.system_stats(str(service().store.root)), "workers": workers,
            "models": totals(workers)}


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

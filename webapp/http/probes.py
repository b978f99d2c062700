"""Probes for the proxy and orchestrator (no auth) and the authenticated resource stats."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify

from webapp.extensions import service
from webapp.http.auth import auth
from webapp.serving.monitoring.metrics import set_ready
from webapp.serving.telemetry import stats

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Never depends on a model."""
    return jsonify(status="alive")


@bp.get("/readyz")
def readyz():
    """Readiness: every version the store says to serve has loaded and answered a warm-up, and the
    server is not draining before a stop."""
    flag = current_app.config["DRAIN_FLAG"]
    draining = bool(flag) and os.path.exists(flag)
    ready = service().ready() and not draining
    set_ready(ready)
    models = {name: {str(v): s.state.value for v, s in model.versions.items()}
              for name, model in service().models().items()}
    body = {"ready": ready, "models": models, **({"draining": True} if draining else {})}
    return jsonify(body), 200 if ready else 503


@bp.get("/api/")
@bp.get("/api")
def api_root():
    """Liveness document for KServe's V1 client, and a map of the APIs."""
    return jsonify(status="alive", name="podium", apis={"v1": "/api/v1", "v2": "/api/v2"})


@bp.get("/api/stats")
@auth.login_required
def api_stats():
    return jsonify(stats.all_stats(service()))

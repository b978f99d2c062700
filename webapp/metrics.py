"""`/metrics` for Prometheus and the per-request figures behind it (model, version, protocol, status).

The metric objects live in `webapp.serving.metrics`; this module only times requests and exposes them.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, g, request

from webapp.serving import metrics

bp = Blueprint("metrics", __name__)
SKIP = ("/metrics", "/healthz", "/readyz", "/static/")


@bp.get("/metrics")
def scrape():
    """Every live worker's samples (multiprocess mode under gunicorn), in Prometheus' text format."""
    return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4")


def _protocol(path: str) -> str:
    for prefix, name in (("/api/v1/", "v1"), ("/api/v2/", "v2"), ("/api/", "api")):
        if path.startswith(prefix):
            return name
    return "pages"


def _model_and_version(response) -> tuple[str, str]:
    name = (request.view_args or {}).get("name")
    if not name:
        return "", ""
    if name not in current_app.extensions["podium.service"].models():
        return "unknown", ""  # never a label per made-up name
    version = response.headers.get("X-Model-Version") or (request.view_args or {}).get("version", "")
    return name, version if str(version).isdigit() else ""


def init_metrics(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.podium_started = time.perf_counter()

    @app.after_request
    def record(response):
        started = g.get("podium_started")
        if started is not None and not request.path.startswith(SKIP):
            model, version = _model_and_version(response)
            metrics.observe_request(model, version, _protocol(request.path), response.status_code,
                                    time.perf_counter() - started)
        return response

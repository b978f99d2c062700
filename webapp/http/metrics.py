"""`/metrics` for Prometheus, and the per-request figures behind it (model, version, protocol, status).

The served version comes from the answer the request got (`webapp.http.predict.answered`), never
from a response header.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import Counter, Histogram

from webapp.extensions import service
from webapp.http.predict import answered
from webapp.serving.monitoring import metrics as monitor_metrics
from webapp.serving.telemetry import metrics

bp = Blueprint("metrics", __name__)
SKIP = ("/metrics", "/healthz", "/readyz", "/static/")

REQUESTS = Counter("podium_requests", "HTTP requests answered, by model, version, protocol and status",
                   ["model", "version", "protocol", "code"])
ERRORS = Counter("podium_request_errors", "Requests answered with a 4xx or 5xx status",
                 ["model", "protocol", "code"])
LATENCY = Histogram("podium_request_duration_seconds", "Time from request start to response, in seconds",
                    ["model", "version", "protocol"], buckets=metrics.LATENCY_BUCKETS)


@bp.get("/metrics")
def scrape():
    """Every live worker's samples (multiprocess mode under gunicorn), in Prometheus' text format."""
    monitor_metrics.set_ready(service().ready())
    return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4")


def _protocol(path: str) -> str:
    for prefix, name in (("/api/v1/", "v1"), ("/api/v2/", "v2"), ("/api/", "api"), ("/openai/", "openai")):
        if path.startswith(prefix):
            return name
    return "pages"


def _model_and_version() -> tuple[str, str]:
    answer = answered()
    if answer is not None:
        return answer.served.model, str(answer.version)
    name = (request.view_args or {}).get("name")
    if not name:
        return "", ""
    if not service().has_model(name):
        return "unknown", ""  # never a label per made-up name
    version = str((request.view_args or {}).get("version", ""))
    return name, version if version.isdigit() else ""


def observe(code: int, seconds: float) -> None:
    model, version = _model_and_version()
    protocol = _protocol(request.path)
    metrics.child(REQUESTS, model, version, protocol, str(code)).inc()
    metrics.child(LATENCY, model, version, protocol).observe(seconds)
    if code >= 400:
        metrics.child(ERRORS, model, protocol, str(code)).inc()
    metrics.update_memory()


def init_metrics(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.podium_started = time.perf_counter()

    @app.after_request
    def record(response):
        started = g.get("podium_started")
        if started is not None and not request.path.startswith(SKIP):
            observe(response.status_code, time.perf_counter() - started)
        return response

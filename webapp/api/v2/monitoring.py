"""Podium's monitoring extension of the Open Inference Protocol, beside the model routes:
ground truth in, a model's drift / quality / A/B report out, the log as CSV or Parquet, and the
prediction log's health. Errors are `{"error": "..."}` as in the rest of `/api/v2`.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from webapp.api.v2.views import on_serving_error
from webapp.extensions import service
from webapp.http.auth import auth
from webapp.http.jsonio import read_json_body
from webapp.http.monitoring import (
    export_response,
    log_health,
    model_report,
    parse_time,
    record_truths,
    request_round,
)
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.monitoring import truths
from webapp.serving.monitoring.database import LogUnavailable

bp = Blueprint("api_v2_monitoring", __name__, url_prefix="/api/v2")
bp.register_error_handler(ServingError, on_serving_error)
MODEL = "/models/<name>"


@bp.post(MODEL + "/feedback")
@auth.login_required
def feedback(name: str):
    """Ground truth for logged predictions: idempotent; 404 unknown id, 409 a different truth."""
    return jsonify(record_truths(name, truths.from_json(read_json_body())))


@bp.get(MODEL + "/monitoring")
@auth.login_required
def report(name: str):
    return jsonify(model_report(name))


@bp.post(MODEL + "/monitoring")
@auth.login_required
def recompute(name: str):
    """Ask the background job to recompute the model's report now; answers at once (202)."""
    request_round(name)
    return jsonify(requested=True, model=name), 202


@bp.get(MODEL + "/log")
@auth.login_required(role="admin")
def export(name: str):
    """The model's logged predictions with their truths, for retraining (admin: it holds inputs)."""
    reveal = request.args.get("reveal", "false")
    if reveal not in ("true", "false"):
        raise InvalidInput("'reveal' must be true or false")
    return export_response(name, request.args.get("format", "csv"),
                           parse_time(request.args.get("since"), "since"),
                           parse_time(request.args.get("until"), "until"), reveal == "true")


@bp.get("/monitoring")
@auth.login_required
def overview():
    """The answering worker's prediction log health and every served model's latest alerts."""
    health, models = log_health(), {}
    for name in sorted(service().models()):
        try:
            found = model_report(name)
        except LogUnavailable as exc:  # the database is down: say so per model, keep the log figures
            models[name] = {"computed_at": None, "alerts": [], "error": exc.message}
            continue
        models[name] = {"computed_at": found["computed_at"], "alerts": found["alerts"],
                        "error": found["error"]}
    return jsonify(log=health, models=models)

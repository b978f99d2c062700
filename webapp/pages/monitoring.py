"""What people do in a model page's Monitoring section: send ground truth as CSV, download the log,
ask for a recompute (the section itself: `monitoring_section.py`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for

from webapp.http.monitoring import export_response, record_truths, request_round
from webapp.pages.access import admin_required, current_user, login_needed
from webapp.pages.kinds import kind_of, recommender
from webapp.pages.models import guard, model_page, selection
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.monitoring import truths

bp = Blueprint("monitoring_pages", __name__, url_prefix="/models")
bp.before_request(guard)


@bp.post("/<name>/feedback")
def feedback(name: str):
    """A CSV of request ids and truths, from a logged-in person."""
    if current_user() is None:
        return login_needed()
    upload = request.files.get("truths")
    picked = selection(request.form)
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("Choose a CSV file with request_id and truth columns first.")
        counts = record_truths(name, truths.from_csv(upload.stream))
    except ServingError as exc:
        return _page(name, exc.status, picked=picked, feedback_error=exc.message)
    message = f"Recorded {counts['recorded']} truths ({counts['unchanged']} were already known)."
    return _page(name, picked=picked, feedback_message=message)


def _page(name: str, status: int = 200, **context: Any) -> Any:
    """The page the section sits on: the recommender's own, or the model page."""
    if kind_of(name) == "recommendation":
        context.pop("picked", None)
        return recommender(name, status, **context)
    return model_page(name, status, **context)


@bp.post("/<name>/monitoring")
def recompute(name: str):
    request_round(name)
    flash("Recomputing drift and quality now; reload the page in a few seconds.", "ok")
    picked = {k: v for k in ("version", "label") if (v := request.form.get(k, "").strip())}
    return redirect(url_for("models.show", name=name, **picked) + "#monitoring", code=303)


@bp.get("/<name>/log.<any(csv, parquet):fmt>")
@admin_required
def export(name: str, fmt: str):
    return export_response(name, fmt)

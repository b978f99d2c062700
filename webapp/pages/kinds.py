"""The recommender page (a user's history and recommendations, an item's similar items), and which
page a recommender or a chat model leads to (the chat page is `chat.py`).

Each view decodes the form, makes one service call and renders.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from webapp.extensions import service
from webapp.http.monitoring import record_truths
from webapp.http.predict import answered, predict
from webapp.pages.access import check_post, current_user, login_needed, require_viewer, user_name
from webapp.pages.monitoring_section import monitoring_context
from webapp.serving.errors import ServingError
from webapp.serving.models.versions import parse_version
from webapp.serving.recommend.query import Profile, RecommendQuery, RecommendRow
from webapp.serving.service import Target

bp = Blueprint("kinds", __name__)
bp.before_request(require_viewer)
bp.before_request(check_post)


def _k(value: str | None) -> Any:
    """The k field: a number, None when empty, else the text itself (the recommender names the mistake)."""
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() else value or None


@bp.get("/recommend/<name>")
def recommender(name: str, status: int = 200, **context: Any):
    """The page; `batch_error` (with its status) when a CSV upload was refused (`batch.create`)."""
    view, args = service().model(name), request.args
    user, item = args.get("user", "").strip(), args.get("item", "").strip()
    where = Target(name, parse_version(args.get("version") or None), caller=user_name())
    try:
        if user:
            context["history"], found = predict(where, lambda _spec: Profile(user, _k(args.get("k")))).values
        elif item:
            row = RecommendRow(item=item, k=_k(args.get("k")))
            found = predict(where, lambda _spec: RecommendQuery((row,))).values[0]
        if user or item:
            context["found"] = found
            context["rows"] = list(zip(found.items, found.names, found.scores, strict=True))
            context["request_id"] = g.request_id  # what a "chose this" click sends back as feedback
    except ServingError as exc:
        context, status = {**context, "error": exc.message}, exc.status
    version = args.get("version") or request.form.get("version", "")
    got = answered()
    shown = got.version if got is not None else (parse_version(version or None) or view.default_version)
    return render_template("kinds/recommend.html", view=view, picked_user=user, picked_item=item,
                           k=args.get("k", ""), version=version, picked_version=version,
                           max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
                           monitoring=monitoring_context(name, shown), **context), status


@bp.post("/recommend/<name>/chose")
def chose(name: str):
    """A click on a recommended item: the truth for that request (a hit when it was in the list)."""
    if current_user() is None:
        return login_needed()
    form = request.form
    try:
        counts = record_truths(name, [(form.get("request_id", ""), form.get("item", ""))])
        known = "" if counts["recorded"] else " (already known)"
        flash(f"Recorded your choice of {form.get('item')}{known}.", "ok")
    except ServingError as exc:
        flash(exc.message, "error")
    back = {k: v for k in ("user", "version") if (v := form.get(k, "").strip())}
    return redirect(url_for("kinds.recommender", name=name, **back) + "#monitoring", code=303)


def kind_of(name: str) -> str | None:
    """"recommendation" or "chat" when the model's default version is one, else None."""
    view = service().model(name)
    status = view.versions.get(view.default_version) if view.default_version else None
    task = status.spec.task if status is not None and status.spec is not None else None
    return task if task in ("recommendation", "chat") else None


def page_for(name: str) -> Any:
    """A redirect to the recommender's or chat's own page when `name` is one, else None."""
    task = kind_of(name)
    if task is None:
        return None
    return redirect(url_for("kinds.recommender" if task == "recommendation" else "chat.page", name=name))

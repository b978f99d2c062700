"""The recommender page (a user's history and recommendations, an item's similar items) and the chat page
(a conversation kept in the form itself, so it works as plain form posts without JavaScript).

Each view decodes the form, makes one service call and renders; the chat's sources link to the
documents they came from (`/source/...`, rendered here from the project's README and docs).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from webapp.demos.chat import ROOT, documents, sections, slug
from webapp.extensions import service
from webapp.http.monitoring import record_truths
from webapp.http.predict import answered, predict
from webapp.pages.access import check_post, current_user, login_needed, require_viewer, user_name
from webapp.pages.monitoring_section import monitoring_context
from webapp.serving.chat.conversation import ChatRequest, Message
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.models.versions import parse_version
from webapp.serving.recommend.query import Profile, RecommendQuery, RecommendRow
from webapp.serving.service import Target

bp = Blueprint("kinds", __name__)
bp.before_request(require_viewer)
bp.before_request(check_post)
MAX_TURNS = 40
ROLES = ("user", "assistant")


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


@bp.route("/chat/<name>", methods=["GET", "POST"])
def chat(name: str):
    view, form = service().model(name), request.form
    turns, system = _turns(form.get("conversation")), form.get("system", "")
    temperature, message = form.get("temperature", "0.7"), form.get("message", "").strip()
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST" and form.get("clear"):
        turns, message = [], ""
    elif request.method == "POST" and message:
        try:
            turns, context["usage"] = _ask(name, [*turns, {"role": "user", "content": message}], system,
                                           _temperature(temperature))
            message = ""
        except ServingError as exc:
            context, status = {"error": exc.message}, exc.status
    return render_template("kinds/chat.html", view=view, turns=turns, system=system, temperature=temperature,
                           message=message, conversation=json.dumps(turns), **context), status


def _ask(name: str, turns: list[dict[str, Any]], system: str, temperature: float) -> tuple[list, Any]:
    """One chat call: the conversation with the answer (and its sources) appended, and the usage."""
    turns = turns[-MAX_TURNS:]
    messages = ((Message("system", system),) if system.strip() else ()) + tuple(
        Message(t["role"], t["content"]) for t in turns)
    question = ChatQuestion(ChatRequest(messages, temperature))
    answer = predict(Target(name, caller=user_name()), lambda _spec: question).values
    sources = [[s.title, s.source] for s in answer.sources]
    return [*turns, {"role": "assistant", "content": answer.text, "sources": sources}], answer.usage


def _turns(raw: str | None) -> list[dict[str, Any]]:
    """The conversation the form carried back; anything malformed starts a fresh one."""
    try:
        turns = json.loads(raw or "[]")
    except ValueError:
        return []
    if not isinstance(turns, list):
        return []
    return [t for t in turns if isinstance(t, dict) and t.get("role") in ROLES
            and isinstance(t.get("content"), str)][-MAX_TURNS:]


def _temperature(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput("Temperature must be a number from 0 to 2") from None
    if not 0 <= value <= 2:
        raise InvalidInput("Temperature must be a number from 0 to 2")
    return value


@bp.get("/source/<path:doc>")
def source(doc: str):
    """A README or docs file as sections with GitHub's anchors, so a chat answer's source link lands."""
    found = {d.relative_to(ROOT).as_posix(): d for d in documents()}
    if doc not in found:
        abort(404)
    seen: dict[str, int] = {}
    parts = [(heading, slug(heading, seen) if heading else "", "\n".join(lines).strip())
             for heading, lines in sections(found[doc].read_text(encoding="utf-8"))]
    return render_template("kinds/source.html", doc=doc, parts=parts)


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
    return redirect(url_for("kinds.recommender" if task == "recommendation" else "kinds.chat", name=name))

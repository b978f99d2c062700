"""The chat page: a conversation kept in the form itself, so it works as plain form posts without
JavaScript; with it, `static/js/chat.js` posts the same form to `/chat/<name>/stream` and shows the
answer as it arrives.

The stream speaks OpenAI's chunk events from the OpenAI API's own encoder, so a reader who drops it
halfway closes the backend's stream (and its log record) exactly as an OpenAI client would. It is
authenticated like the page (session or basic auth, CSRF token, same origin), never with a password
in the browser's script. Sources link to `/source/...`, rendered here from the README and docs.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, stream_with_context

from webapp.api.openai import codec
from webapp.demos.chat import ROOT, documents, sections, slug
from webapp.extensions import service
from webapp.http.predict import predict
from webapp.pages.access import check_post, require_viewer, user_name
from webapp.serving.chat.conversation import ChatRequest, Message
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.service import Answer, Target

bp = Blueprint("chat", __name__)
bp.before_request(require_viewer)
bp.before_request(check_post)
MAX_TURNS = 40
ROLES = ("user", "assistant")


@bp.route("/chat/<name>", methods=["GET", "POST"])
def page(name: str):
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
    return render_template("chat/chat.html", view=view, turns=turns, system=system, temperature=temperature,
                           message=message, conversation=json.dumps(turns), **context), status


@bp.post("/chat/<name>/stream")
def stream(name: str) -> Response:
    """The page's form, answered as server-sent events (OpenAI's chunks, usage last, then [DONE]).

    A refusal before the first byte is OpenAI's `{"error": {...}}` JSON with its status.
    """
    form = request.form
    turns = _turns(form.get("conversation"))
    try:
        message = form.get("message", "").strip()
        if not message:
            raise InvalidInput("Type a message first")
        turns = [*turns, {"role": "user", "content": message}]
        answer = _call(name, turns, form.get("system", ""), _temperature(form.get("temperature", "0.7")),
                       stream=True)
    except ServingError as exc:
        status, body = codec.encode_error(exc)
        return jsonify(body), status
    events = codec.encode_stream(answer.values, name, codec.new_completion_id(), int(time.time()),
                                 include_usage=True)
    return Response(stream_with_context(events), mimetype="text/event-stream", headers=codec.STREAM_HEADERS)


def _ask(name: str, turns: list[dict[str, Any]], system: str, temperature: float) -> tuple[list, Any]:
    """One whole chat call: the conversation with the answer (and its sources) appended, and the usage."""
    turns = turns[-MAX_TURNS:]
    answer = _call(name, turns, system, temperature).values
    sources = [[s.title, s.source] for s in answer.sources]
    return [*turns, {"role": "assistant", "content": answer.text, "sources": sources}], answer.usage


def _call(name: str, turns: list[dict[str, Any]], system: str, temperature: float,
          stream: bool = False) -> Answer:
    """The service's answer to the conversation (chunks when `stream`); raises ServingError."""
    messages = ((Message("system", system),) if system.strip() else ()) + tuple(
        Message(t["role"], t["content"]) for t in turns[-MAX_TURNS:])
    question = ChatQuestion(ChatRequest(messages, temperature), stream)
    return predict(Target(name, caller=user_name()), lambda _spec: question)


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
    return render_template("chat/source.html", doc=doc, parts=parts)

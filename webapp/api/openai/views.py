"""`/openai/v1`: chat completions (whole or streamed) and the model list, as KServe mounts OpenAI's API.

Each view decodes with the codec, makes one service call and encodes; every error, from a bad body to
a failed upstream, answers in OpenAI's `{"error": {...}}` format, so OpenAI's clients raise their own
exception types. Credentials as the other APIs take them: HTTP basic auth, or `Bearer user:password`
(what an OpenAI client sends when its api_key is "user:password").
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, g, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from webapp.accounts.tokens import looks_like_token
from webapp.extensions import service
from webapp.http.auth import limit_message, over_limit, verify_password
from webapp.http.predict import predict, target
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.errors import ServingError
from webapp.serving.models.spec import ModelSpec

from . import codec

bp = Blueprint("openai", __name__, url_prefix="/openai/v1")
log = logging.getLogger(__name__)


def _error(status: int, message: str, error_type: str = "invalid_request_error", code: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    response = jsonify(codec.error_body(message, error_type, code=code))
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.before_request
def authenticate() -> Response | None:
    name, password = _credentials()
    if password is not None and verify_password(name, password):
        return _admitted()
    retry = g.pop("auth_retry_after", None)
    if retry:
        return _error(429, "Too many failed logins; try again later", "rate_limit_error",
                      "rate_limit_exceeded", {"Retry-After": str(retry)})
    return _error(401, g.get("auth_reason") or "Incorrect API key provided: use 'user:password' or an "
                  "API token as the API key, or HTTP basic auth.",
                  code="invalid_api_key", headers={"WWW-Authenticate": 'Bearer realm="Podium"'})


def _credentials() -> tuple[str, str | None]:
    """(user, password or token): basic auth, `Bearer user:password`, or `Bearer <API token>`."""
    creds = request.authorization
    if creds is None:
        return "", None
    if creds.type == "basic":
        password = creds.password or ""
        return creds.username or "", password if creds.username or looks_like_token(password) else None
    secret = (creds.token or "") if creds.type == "bearer" else ""
    if looks_like_token(secret):
        return "", secret
    name, colon, password = secret.partition(":")
    return (name, password) if name and colon else ("", None)


def _admitted() -> Response | None:
    """After the credentials, what the other APIs check too: the token's scope, then the caller's
    rate limit and daily quota (a chat call is one row), refused in OpenAI's format."""
    refusal = g.get("auth_refusal")
    if refusal:
        return _error(403, refusal, "permission_error", "insufficient_scope")
    verdict = over_limit()
    if verdict is None:
        return None
    if verdict.kind == "quota":  # retrying cannot help before the day renews: the client should not
        return _error(429, limit_message(verdict), "insufficient_quota", "insufficient_quota",
                      {"Retry-After": str(verdict.reset_s), "x-should-retry": "false"})
    return _error(429, limit_message(verdict), "requests", "rate_limit_exceeded",
                  {"Retry-After": str(verdict.reset_s)})  # RateLimit-*: added by http/ratelimit.py


@bp.errorhandler(ServingError)
def on_serving_error(exc: ServingError) -> Response:
    status, body = codec.encode_error(exc)
    response = jsonify(body)
    response.status_code = status
    return response


@bp.errorhandler(HTTPException)
def on_http_error(exc: HTTPException) -> Response:
    message = "Request body too large" if exc.code == 413 else (exc.description or exc.name)
    return _error(exc.code or 500, message, code=codec.ERROR_CODES.get(exc.code or 500))


@bp.errorhandler(Exception)
def on_unexpected(exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _error(500, "Internal error; the server log has the details", "server_error")


@bp.post("/chat/completions")
def chat_completions() -> Response:
    call = codec.parse_chat_body(request.get_data())

    def decode(spec: ModelSpec) -> ChatQuestion:
        if spec.task != "chat":
            raise codec.BadChatRequest(f"The model '{call.model}' is a {spec.task} model, not a chat model.",
                                       "model", "model_not_supported")
        return ChatQuestion(call.request, call.stream)

    answer = predict(target(call.model), decode)
    completion_id, created = codec.new_completion_id(), int(time.time())
    headers = {"X-Model-Version": str(answer.version)}
    if call.stream:
        events = codec.encode_stream(answer.values, call.model, completion_id, created, call.include_usage)
        return Response(stream_with_context(events), mimetype="text/event-stream",
                        headers={**headers, **codec.STREAM_HEADERS})
    response = jsonify(codec.encode_completion(answer.values, call.model, completion_id, created))
    response.headers.update(headers)
    return response


@bp.get("/models")
def models() -> Response:
    return jsonify(codec.encode_models(_chat_models()))


@bp.get("/models/<name>")
def model(name: str) -> Response:
    for found, created in _chat_models():
        if found == name:
            return jsonify(codec.encode_model(found, created))
    return _error(404, f"The model '{name}' does not exist or you do not have access to it.",
                  code="model_not_found")


def _chat_models() -> list[tuple[str, int]]:
    """(name, created) of every model whose default version is an available chat."""
    found = []
    for name, status in sorted(service().models().items()):
        current = status.versions.get(status.default_version) if status.default_version else None
        if current is not None and current.ready and current.spec is not None and current.spec.task == "chat":
            found.append((name, int(current.loaded_at or 0)))
    return found


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Anything else under /openai/v1 (embeddings, completions, a GET of chat/completions): OpenAI's 404."""
    return _error(404, f"Podium's OpenAI API has no {request.method} {request.path}: it answers "
                       "POST /openai/v1/chat/completions and GET /openai/v1/models.", code="unknown_url")

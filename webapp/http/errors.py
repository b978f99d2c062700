"""One error hierarchy, two renderers: JSON `{"error": ...}` under /api, a page everywhere else.

A protocol that words the core's errors its own way (`/api/v1`'s TF Serving texts, the pages'
friendly sentences) registers its renderer on its blueprint; these are the app-wide fallbacks.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from webapp.serving.errors import ServingError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    path = request.path
    return path == "/api" or path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def serving_error_response(exc: ServingError, message: str | None = None) -> Response:
    """The core's error as `{"error": message}` with its status, and Retry-After when the core
    says a retry may succeed (overloaded, loading); never on a 404 or a failed version."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return json_error(exc.status, message if message is not None else exc.message, headers)


def http_error_response(exc: HTTPException) -> Response:
    """Werkzeug's errors (404, 405, 413...) as JSON, keeping headers such as Allow."""
    message = exc.description or exc.name
    if exc.code == 413:
        message = "Request body too large"
    response = json_error(exc.code or 500, f"{exc.name}: {message}")
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServingError)
    def on_serving_error(exc: ServingError):
        if wants_json():
            return serving_error_response(exc)
        return error_page(exc.status, "That did not work", exc.message)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException):
        if wants_json():
            return http_error_response(exc)
        return error_page(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        message = "Internal error; the server log has the details"
        if wants_json():
            return json_error(500, message)
        return error_page(500, "Something went wrong", message)

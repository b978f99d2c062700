"""What both APIs share: a flask-restful Api that renders Podium's errors, and body parsing."""

from __future__ import annotations

import json
from typing import Any

import flask_restful
import orjson
from flask import g, make_response, request
from werkzeug.exceptions import HTTPException

from webapp.errors import http_error_response, json_error, serving_error_response
from webapp.serving.errors import InvalidInput, ServingError

ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(data: Any) -> bytes:
    """Fast JSON that writes numpy arrays directly (float32 as its shortest repr)."""
    return orjson.dumps(data, option=ORJSON_OPTIONS)


def output_json(data: Any, code: int, headers: dict[str, str] | None = None):
    response = make_response(dumps(data), code)
    response.headers.extend(headers or {})
    response.mimetype = "application/json"
    return response


class PodiumApi(flask_restful.Api):
    """flask-restful replaces the app's error handlers on its routes; render ours instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.representations = {"application/json": output_json}

    def handle_error(self, e: Exception):
        if isinstance(e, ServingError):
            return serving_error_response(e)
        if isinstance(e, HTTPException):
            return http_error_response(e)
        raise e  # the app's handler logs it and answers a generic 500


def read_json_body() -> Any:
    """The request body as JSON, whatever its Content-Type; raises InvalidInput naming the fault."""
    data = request.get_data(cache=True)
    if not data.strip():
        raise InvalidInput("JSON Parse error: The document is empty")
    try:
        return orjson.loads(data)  # fast path; it refuses NaN/Infinity, which the REST grammar allows
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("JSON Parse error: the body is not valid UTF-8") from None
    except RecursionError:
        raise InvalidInput("JSON Parse error: the document is nested too deeply") from None
    except ValueError as exc:
        raise InvalidInput(f"JSON Parse error: {exc}") from None


def require_object(doc: Any, what: str = "request") -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InvalidInput(f"The {what} must be a JSON object, got {type(doc).__name__}")
    return doc


def uploaded_files() -> list[bytes] | None:
    """Bytes of every file part of a multipart request, or None when it is not multipart."""
    if request.mimetype != "multipart/form-data":
        return None
    files = [f.read() for key in request.files for f in request.files.getlist(key)]
    if not files:
        raise InvalidInput("The multipart request has no file part (use -F file=@image.png)")
    return files


def error(status: int, message: str):
    return json_error(status, message)


def caller_key() -> str | None:
    """Who is asking, for sticky traffic splits: X-Request-Key when given, else the user."""
    return request.headers.get("X-Request-Key") or g.get("user")

"""What both APIs share: a flask-restful Api that renders Podium's errors, and body parsing."""

from __future__ import annotations

import json
from typing import Any

import flask_restful
import orjson
from flask import g, make_response, request
from werkzeug.exceptions import HTTPException

from webapp.errors import http_error_response, json_error, serving_error_response
from webapp.serving.errors import InvalidInput, PayloadTooLarge, ServingError

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
        if isinstance(e, RecursionError):  # input nested deeper than the code walking it can go
            return json_error(400, "JSON Parse error: the document is nested too deeply")
        raise e  # the app's handler logs it and answers a generic 500


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object with a repeated name is ambiguous (which input wins?): refuse it."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {duplicate!r} in an object")
    return obj


def read_json_body() -> Any:
    """The request body as JSON, whatever its Content-Type; raises InvalidInput naming the fault."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # a chunked body is cut at the limit by werkzeug, not refused: refuse it here
        raise PayloadTooLarge(f"Request body too large: the limit is {limit} bytes")
    return parse_json(data)


def parse_json(data: bytes) -> Any:
    """JSON from bytes for both APIs: NaN/Infinity accepted (the REST grammar allows them),
    duplicate keys refused; raises InvalidInput naming the fault."""
    if not data.strip():
        raise InvalidInput("JSON Parse error: The document is empty")
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
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

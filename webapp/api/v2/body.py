"""Request and response bodies of /api/v2: any Content-Type, compression both ways, binary framing."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from webapp.api.v2.binary import HEADER, compress, decompress
from webapp.http.jsonio import dumps, parse_json, read_body
from webapp.serving.errors import InvalidInput

COMPRESS_FROM = 1024  # bytes; smaller answers are not worth compressing


loads = parse_json  # one JSON grammar and one set of messages for both APIs


def request_body() -> bytes:
    """The raw body, any Content-Type, decompressed under the body size limit."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 32 * 1024 * 1024
    return decompress(read_body(), request.headers.get("Content-Encoding"), limit)


def optional_object(body: bytes, what: str) -> dict[str, Any]:
    """An optional JSON object body (tritonclient often sends none at all)."""
    if not body.strip():
        return {}
    doc = loads(body)
    if not isinstance(doc, dict):
        raise InvalidInput(f"The {what} body must be a JSON object")
    return doc


def infer_response(doc: dict[str, Any], chunks: list[bytes]) -> Response:
    """JSON, or JSON + binary outputs; gzip/deflate when the client accepts it and it is worth it."""
    head = dumps(doc)
    body = b"".join([head, *chunks])
    response = Response(mimetype="application/octet-stream" if chunks else "application/json")
    if chunks:
        response.headers[HEADER] = str(len(head))  # of the uncompressed JSON, as Triton sends it
    # the Accept-Encoding header is parsed only for an answer worth compressing
    worth = len(body) >= COMPRESS_FROM
    encoding = request.accept_encodings.best_match(("gzip", "deflate")) if worth else None
    if encoding:
        body = compress(body, encoding)
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"  # a new response: no Vary to merge with yet
    response.set_data(body)
    return response

"""OpenAPI 3.1 documents for /api/v1 and /api/v2, served without auth so tools can fetch them."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Flask, jsonify

from webapp.api.openapi.v1 import v1_document
from webapp.api.openapi.v2 import v2_document

bp = Blueprint("api_openapi", __name__)


@cache
def documents() -> dict[str, dict[str, Any]]:
    """Both APIs' OpenAPI documents, built once per process."""
    return {"v1": v1_document(), "v2": v2_document()}


@bp.get("/api/v1/openapi.json")
def openapi_v1():
    return jsonify(documents()["v1"])


@bp.get("/api/v2/openapi.json")
def openapi_v2():
    return jsonify(documents()["v2"])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

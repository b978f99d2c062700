"""`/api/v2`: the Open Inference Protocol (KServe V2 / Triton / MLServer REST)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

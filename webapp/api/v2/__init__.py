"""`/api/v2`: the Open Inference Protocol (KServe V2 / Triton / MLServer REST)."""

from __future__ import annotations

from flask import Flask

from webapp.api.v2 import monitoring
from webapp.api.v2.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(monitoring.bp)

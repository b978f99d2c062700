"""Admin lifecycle API under /api/v2/repository: publish, labels, default, rollback, split, audit."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api_lifecycle", __name__, url_prefix="/api/v2/repository")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

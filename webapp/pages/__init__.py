"""The HTML pages. Each area is a blueprint; pages call the same service as the APIs."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    service = current_app.extensions["podium.service"]
    return render_template("home/index.html", models=service.models())


def init_pages(app: Flask) -> None:
    app.register_blueprint(bp)

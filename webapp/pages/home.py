"""The home page: every model at a glance, with a filter box."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.extensions import service
from webapp.pages.access import check_post, require_viewer

bp = Blueprint("home", __name__)
bp.before_request(require_viewer)
bp.before_request(check_post)


@bp.get("/")
def index():
    return render_template("home/index.html", models=sorted(service().models().items()))

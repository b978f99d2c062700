"""Admin pages: publish a version, move labels, roll back, split traffic, load/unload, the audit log.

Every action is one call on the Lifecycle object (the same one the lifecycle API uses), then a
redirect back to the admin page with a message (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from webapp.extensions import lifecycle, service, users
from webapp.http.quota import usage
from webapp.pages.access import admin_required, check_post, user_name
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.lifecycle.upload import files_from_parts
from webapp.serving.models.spec import check_model_name
from webapp.serving.models.versions import parse_split, parse_version, require_version

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(check_post)


def back(name: str | None = None):
    return redirect(url_for("admin.index") + (f"#model-{name}" if name else ""), code=303)


@bp.get("")
@admin_required
def index(status: int = 200, **extra: Any):
    return render_template("admin/admin.html", models=service().models(), audit=lifecycle().audit(100),
                           limits=usage(sorted(users().list())), values=request.form, **extra), status


def _label() -> str:
    label = (request.form.get("label") or "").strip()
    if not label:
        raise InvalidInput("Give the label a name, e.g. stable or canary.")
    return label


def _load(name: str, user: str) -> str:
    lifecycle().load(name, user)
    return f"{name} is being loaded."


def _unload(name: str, user: str) -> str:
    lifecycle().unload(name, user)
    return f"{name} is unloaded."


def _rollback(name: str, user: str) -> str:
    return f"{name} rolled back to version {lifecycle().rollback(name, user)}."


def _set_label(name: str, user: str) -> str:
    label, version = _label(), require_version(request.form.get("version"))
    lifecycle().set_label(name, label, version, user)
    return f"{name}: label '{label}' now points at version {version}."


def _delete_label(name: str, user: str) -> str:
    label = request.form.get("label", "")
    lifecycle().delete_label(name, label, user)
    return f"{name}: label '{label}' removed."


def _set_default(name: str, user: str) -> str:
    version = parse_version(request.form.get("version"))
    lifecycle().set_default(name, version, user)
    return f"{name}: default version set to {version if version else 'the newest available'}."


def _set_split(name: str, user: str) -> str:
    weights = parse_split(request.form.get("split", ""))
    lifecycle().set_split(name, weights, user)
    if not weights:
        return f"{name}: traffic split removed; the default version serves."
    shares = ", ".join(f"version {v}: {w}%" for v, w in weights.items())
    return f"{name}: traffic split set to {shares}."


def _delete(name: str, user: str) -> str:
    version = require_version(request.form.get("version"))
    lifecycle().delete_version(name, version, user)
    return f"{name}: version {version} deleted."


# the admin page's forms: action → the lifecycle change it makes, answering the message to show
ACTIONS: dict[str, Callable[[str, str], str]] = {
    "load": _load, "unload": _unload, "rollback": _rollback, "label": _set_label,
    "unlabel": _delete_label, "default": _set_default, "split": _set_split, "delete": _delete,
}


@bp.post("/models/<name>/<action>")
@admin_required
def change(name: str, action: str):
    """One lifecycle change from the admin page's forms; the outcome is flashed on the page."""
    act = ACTIONS.get(action)
    if act is None:
        flash("Unknown action.", "error")
        return back(name)
    try:
        flash(act(name, user_name()), "ok")
    except ServingError as exc:
        flash(exc.message, "error")
    return back(name)


@bp.post("/publish")
@admin_required
def publish():
    """Upload a manifest and an artifact as the model's next version; problems stay on the page."""
    name = (request.form.get("name") or "").strip()
    try:
        check_model_name(name)
        version = lifecycle().publish(name, publish_files(), user=user_name())
    except ServingError as exc:
        return index(400 if exc.status < 500 else exc.status, publish_error=exc.message)
    flash(f"Published {name} version {version}; workers load it within a few seconds.", "ok")
    return back(name)


def publish_files() -> dict[str, bytes]:
    """model.json, the artifact (under the name its manifest gives) and a kind's other files."""
    manifest_file, artifact_file = request.files.get("manifest"), request.files.get("artifact")
    if not manifest_file or not manifest_file.filename:
        raise InvalidInput("Choose the manifest (model.json).")
    if not artifact_file or not artifact_file.filename:
        raise InvalidInput("Choose the model file (.keras or .skops).")
    # a kind's other files go by the names the browser sends, which the upload's rules hold to the
    # manifest's list of plain names: never used as a path
    others = {f.filename: f.read() for f in request.files.getlist("files") if f.filename}
    return files_from_parts(manifest_file.read(), artifact_file.read(), others=others)

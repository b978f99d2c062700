"""Admin lifecycle API under /api/v2/repository: publish, labels, default, rollback, split, audit.

Each view is parse → one `Lifecycle` call → the model's lifecycle document. `/index`, `.../load`
and `.../unload` belong to the Open Inference Protocol blueprint (webapp/api/v2).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request

from webapp.api.common import read_json_body, require_object
from webapp.auth import auth
from webapp.serving.errors import InvalidInput
from webapp.serving.lifecycle import Lifecycle
from webapp.serving.registry import labels_of, parse_version, split_of

bp = Blueprint("api_lifecycle", __name__, url_prefix="/api/v2/repository")
MODEL = "/models/<name>"


def lifecycle() -> Lifecycle:
    return current_app.extensions["podium.lifecycle"]


def describe(name: str) -> dict[str, Any]:
    """The model's desired state (config) beside what this worker serves."""
    service = lifecycle().service
    model = service.store.scan().get(name)
    if model is None:
        service.model(name)  # raises ModelNotFound
    view = service.models().get(name)
    return {
        "name": name, "stored": list(model.versions), "config": model.config,
        "labels": labels_of(model.config), "default_version": model.config.get("default_version"),
        "split": {str(k): v for k, v in (split_of(model.config) or {}).items()} or None,
        "unloaded": bool(model.config.get("unloaded")),
        "serving_default": view.default_version if view else None,
        "versions": {str(v): lv.info() for v, lv in view.versions.items()} if view else {},
    }


def version_arg(text: Any, what: str = "version") -> int:
    try:
        number = parse_version(text if isinstance(text, int) and not isinstance(text, bool) else str(text))
    except ValueError:
        number = None
    if number is None:
        raise InvalidInput(f"The {what} must be a positive integer, got {str(text)[:40]!r}")
    return number


def body_version(nullable: bool = False) -> int | None:
    body = require_object(read_json_body())
    if "version" not in body:
        raise InvalidInput('The body must hold {"version": <positive integer>}')
    if body["version"] is None and nullable:
        return None
    return version_arg(body["version"])


def upload() -> dict[str, bytes]:
    """The manifest and artifact parts of a multipart upload; the client's file names are ignored."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload a version as multipart/form-data with 'manifest' and 'artifact' parts")
    parts = {key: request.files.getlist(key) for key in ("manifest", "artifact", "heldout")}
    if len(parts["manifest"]) != 1 or len(parts["artifact"]) != 1:
        raise InvalidInput("The upload needs exactly one 'manifest' and one 'artifact' file part")
    manifest = parts["manifest"][0].read()
    files = {"model.json": manifest, _artifact_name(manifest): parts["artifact"][0].read()}
    if parts["heldout"]:
        files["heldout.json"] = parts["heldout"][0].read()
    return files


def _artifact_name(manifest: bytes) -> str:
    """Store the artifact under the name the manifest gives it (checked again in publish)."""
    try:
        name = json.loads(manifest.decode("utf-8")).get("artifact")
    except (UnicodeDecodeError, ValueError, AttributeError):
        name = None  # check_upload reports the manifest's fault precisely
    return name if isinstance(name, str) and name and name != "model.json" else "artifact"


@bp.post(f"{MODEL}/versions")
@auth.login_required(role="admin")
def publish(name: str):
    version = lifecycle().publish(name, upload(), g.user)
    return jsonify(name=name, version=version), 201


@bp.delete(f"{MODEL}/versions/<version>")
@auth.login_required(role="admin")
def delete_version(name: str, version: str):
    lifecycle().delete_version(name, version_arg(version), g.user)
    return jsonify(describe(name))


@bp.put(f"{MODEL}/labels/<label>")
@auth.login_required(role="admin")
def set_label(name: str, label: str):
    lifecycle().set_label(name, label, body_version(), g.user)
    return jsonify(describe(name))


@bp.delete(f"{MODEL}/labels/<label>")
@auth.login_required(role="admin")
def delete_label(name: str, label: str):
    lifecycle().delete_label(name, label, g.user)
    return jsonify(describe(name))


@bp.put(f"{MODEL}/default")
@auth.login_required(role="admin")
def set_default(name: str):
    lifecycle().set_default(name, body_version(nullable=True), g.user)
    return jsonify(describe(name))


@bp.post(f"{MODEL}/rollback")
@auth.login_required(role="admin")
def rollback(name: str):
    version = lifecycle().rollback(name, g.user)
    return jsonify({**describe(name), "version": version})


@bp.put(f"{MODEL}/split")
@auth.login_required(role="admin")
def set_split(name: str):
    body = require_object(read_json_body())
    weights = body.get("weights")
    if not isinstance(weights, dict):
        raise InvalidInput('The body must hold {"weights": {"<version>": <weight>, ...}}')
    parsed = {version_arg(k, "split version"): w for k, w in weights.items()}
    lifecycle().set_split(name, parsed, g.user)
    return jsonify(describe(name))


@bp.delete(f"{MODEL}/split")
@auth.login_required(role="admin")
def delete_split(name: str):
    lifecycle().set_split(name, None, g.user)
    return jsonify(describe(name))


@bp.get(f"{MODEL}/lifecycle")
@auth.login_required(role="admin")
def model_lifecycle(name: str):
    return jsonify(describe(name))


@bp.get("/audit")
@auth.login_required(role="admin")
def audit():
    limit = request.args.get("limit", "200")
    if not (limit.isascii() and limit.isdigit()) or not 0 < int(limit) <= 10_000:
        raise InvalidInput("limit must be an integer between 1 and 10000")
    return jsonify(entries=lifecycle().audit(int(limit)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

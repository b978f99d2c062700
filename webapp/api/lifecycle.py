"""Every lifecycle view of the APIs, in one place: the Open Inference Protocol's repository
extension (`/api/v2/repository/index`, `.../load`, `.../unload`) and Podium's admin API beside it
(publish, delete, labels, default, rollback, split, the model's lifecycle document, the audit log).

Each view is parse → one `Lifecycle` call → the model's lifecycle document.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, request

from webapp.api.v2 import metadata
from webapp.api.v2.body import optional_object, request_body
from webapp.extensions import lifecycle, service
from webapp.http.auth import auth
from webapp.http.jsonio import read_json_body, require_object
from webapp.serving.errors import InvalidInput
from webapp.serving.lifecycle.upload import files_from_parts
from webapp.serving.models.versions import parse_split, require_version

bp = Blueprint("api_lifecycle", __name__, url_prefix="/api/v2/repository")
MODEL = "/models/<name>"
UPLOAD_PARTS = ("manifest", "artifact", "heldout")  # any other part is a file named as the part


# -- the Open Inference Protocol's repository extension -------------------------------------------
@bp.post("/index")
@auth.login_required
def repository_index():
    ready_only = optional_object(request_body(), "index").get("ready", False)
    if not isinstance(ready_only, bool):
        raise InvalidInput("'ready' must be true or false")
    return jsonify(metadata.index_entries(service().models(), ready_only))


@bp.post(f"{MODEL}/load")
@auth.login_required(role="admin")
def repository_load(name: str):
    """Serve the model again in every worker (config.json); config/file overrides are refused."""
    params = optional_object(request_body(), "load").get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidInput("'parameters' must be an object")
    overrides = sorted(k for k in params if k == "config" or k.startswith("file:"))
    if overrides:
        raise InvalidInput(f"Loading with {overrides[0]!r} is not supported: publish a new version "
                           "through the lifecycle API instead")
    lifecycle().load(name, g.user)
    return jsonify({})


@bp.post(f"{MODEL}/unload")
@auth.login_required(role="admin")
def repository_unload(name: str):
    """Stop serving every version of the model in every worker (unload_dependents is moot)."""
    optional_object(request_body(), "unload")
    lifecycle().unload(name, g.user)
    return jsonify({})


# -- Podium's lifecycle API -----------------------------------------------------------------------
def body_version(nullable: bool = False) -> int | None:
    body = require_object(read_json_body())
    if "version" not in body:
        raise InvalidInput('The body must hold {"version": <positive integer>}')
    if body["version"] is None and nullable:
        return None
    return require_version(body["version"])


def upload() -> dict[str, bytes]:
    """The manifest, artifact (and optional heldout) parts of a multipart upload, and a recommender's
    or chat's other files as parts named as its manifest's `files` lists them."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload a version as multipart/form-data with 'manifest' and 'artifact' parts")
    parts = {key: request.files.getlist(key) for key in request.files}
    if len(parts.get("manifest", ())) != 1 or len(parts.get("artifact", ())) != 1:
        raise InvalidInput("The upload needs exactly one 'manifest' and one 'artifact' file part")
    twice = sorted(key for key, sent in parts.items() if len(sent) > 1)
    if twice:
        raise InvalidInput(f"The upload holds the part {twice[0]!r} more than once")
    read = {key: sent[0].read() for key, sent in parts.items()}
    manifest, artifact, heldout = (read.pop(key, None) for key in UPLOAD_PARTS)
    return files_from_parts(manifest, artifact, heldout, read)


@bp.post(f"{MODEL}/versions")
@auth.login_required(role="admin")
def publish(name: str):
    version = lifecycle().publish(name, upload(), g.user)
    return jsonify(name=name, version=version), 201


@bp.delete(f"{MODEL}/versions/<version>")
@auth.login_required(role="admin")
def delete_version(name: str, version: str):
    lifecycle().delete_version(name, require_version(version), g.user)
    return jsonify(lifecycle().describe(name))


@bp.put(f"{MODEL}/labels/<label>")
@auth.login_required(role="admin")
def set_label(name: str, label: str):
    lifecycle().set_label(name, label, body_version(), g.user)
    return jsonify(lifecycle().describe(name))


@bp.delete(f"{MODEL}/labels/<label>")
@auth.login_required(role="admin")
def delete_label(name: str, label: str):
    lifecycle().delete_label(name, label, g.user)
    return jsonify(lifecycle().describe(name))


@bp.put(f"{MODEL}/default")
@auth.login_required(role="admin")
def set_default(name: str):
    lifecycle().set_default(name, body_version(nullable=True), g.user)
    return jsonify(lifecycle().describe(name))


@bp.post(f"{MODEL}/rollback")
@auth.login_required(role="admin")
def rollback(name: str):
    version = lifecycle().rollback(name, g.user)
    return jsonify({**lifecycle().describe(name), "version": version})


@bp.put(f"{MODEL}/split")
@auth.login_required(role="admin")
def set_split(name: str):
    weights = require_object(read_json_body()).get("weights")
    if not isinstance(weights, dict):
        raise InvalidInput('The body must hold {"weights": {"<version>": <weight>, ...}}')
    lifecycle().set_split(name, parse_split(weights), g.user)
    return jsonify(lifecycle().describe(name))


@bp.delete(f"{MODEL}/split")
@auth.login_required(role="admin")
def delete_split(name: str):
    lifecycle().set_split(name, None, g.user)
    return jsonify(lifecycle().describe(name))


@bp.get(f"{MODEL}/lifecycle")
@auth.login_required(role="admin")
def model_lifecycle(name: str):
    return jsonify(lifecycle().describe(name))


@bp.get("/audit")
@auth.login_required(role="admin")
def audit():
    limit = request.args.get("limit", "200")
    if not (limit.isascii() and limit.isdigit()) or not 0 < int(limit) <= 10_000:
        raise InvalidInput("limit must be an integer between 1 and 10000")
    return jsonify(entries=lifecycle().audit(int(limit)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

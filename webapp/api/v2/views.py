"""Open Inference Protocol views: parse → one service call → encode, a few lines each."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from webapp.api.common import caller_key
from webapp.api.v2 import codec, metadata
from webapp.api.v2.binary import HEADER, BinarySection, split_body
from webapp.api.v2.body import infer_response, loads, optional_object, request_body
from webapp.auth import auth
from webapp.serving.errors import InvalidInput, ModelUnavailable
from webapp.serving.registry import parse_version
from webapp.serving.service import ModelService

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")
SERVER_VERSION = "1.0.0"
MODEL = "/models/<name>"
VERSIONED = "/models/<name>/versions/<version>"


def service() -> ModelService:
    return current_app.extensions["podium.service"]


def number(version: str | None) -> int | None:
    try:
        return parse_version(version)
    except ValueError:
        raise InvalidInput(f"Failed to convert version: {version[:40]!r} is not a positive integer") from None


# -- server ---------------------------------------------------------------------------------------
@bp.get("")
@bp.get("/")
@auth.login_required
def server_metadata():
    return jsonify(metadata.server_metadata(SERVER_VERSION))


@bp.get("/health/live")
def live():
    """Liveness: the process answers; never depends on a model. No auth (probes)."""
    return jsonify(live=True)


@bp.get("/health/ready")
def ready():
    """Readiness: every version the store should serve is AVAILABLE; 503 otherwise. No auth."""
    is_ready = service().ready()
    return jsonify(ready=is_ready), 200 if is_ready else 503


# -- models ---------------------------------------------------------------------------------------
@bp.get(MODEL)
@bp.get(VERSIONED)
@auth.login_required
def model_metadata(name: str, version: str | None = None):
    lv = service().resolve(name, number(version))
    return jsonify(metadata.model_metadata(service().model(name), lv))


@bp.get(MODEL + "/ready")
@bp.get(VERSIONED + "/ready")
@auth.login_required
def model_ready(name: str, version: str | None = None):
    """200 when the version (default: the default one) can answer; 503 when it cannot."""
    try:
        ok = service().lookup(name, number(version)).ready
    except ModelUnavailable:
        ok = False
    return jsonify(name=name, ready=ok), 200 if ok else 503


@bp.get(MODEL + "/config")
@bp.get(VERSIONED + "/config")
@auth.login_required
def model_config(name: str, version: str | None = None):
    lv = service().resolve(name, number(version))
    return jsonify(metadata.model_config(lv, service().options.max_batch_rows))


@bp.get("/models/stats")
@bp.get(MODEL + "/stats")
@bp.get(VERSIONED + "/stats")
@auth.login_required
def model_stats(name: str | None = None, version: str | None = None):
    """Triton's statistics extension, per worker; not advertised since workers count apart."""
    if name is None:
        versions = [lv for view in service().models().values() for lv in view.versions.values()]
    elif version is None:
        versions = list(service().model(name).versions.values())
    else:
        versions = [service().lookup(name, number(version))]
    return jsonify(model_stats=[metadata.version_stats(lv) for lv in versions])


@bp.post(MODEL + "/infer")
@bp.post(VERSIONED + "/infer")
@auth.login_required
def infer(name: str, version: str | None = None):
    lv = service().resolve(name, number(version), None, caller_key())
    assert lv.spec is not None
    with lv.slot():  # as in /api/v1: a full queue refuses before the body is decoded
        body = request_body()
        header, binary = split_body(body, request.headers.get(HEADER))
        req = codec.parse_request(loads(header), BinarySection(binary), lv.spec, len(body))
        prediction = service().predict_on(lv, req.instances)
    return infer_response(*codec.encode_response(prediction, req))


# -- model repository extension -------------------------------------------------------------------
@bp.post("/repository/index")
@auth.login_required
def repository_index():
    ready_only = optional_object(request_body(), "index").get("ready", False)
    if not isinstance(ready_only, bool):
        raise InvalidInput("'ready' must be true or false")
    return jsonify(metadata.index_entries(service().models(), ready_only))


@bp.post("/repository/models/<name>/load")
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
    current_app.extensions["podium.lifecycle"].load(name, g.user)
    return jsonify({})


@bp.post("/repository/models/<name>/unload")
@auth.login_required(role="admin")
def repository_unload(name: str):
    """Stop serving every version of the model in every worker (unload_dependents is moot)."""
    optional_object(request_body(), "unload")
    current_app.extensions["podium.lifecycle"].unload(name, g.user)
    return jsonify({})

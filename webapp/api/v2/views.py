"""Open Inference Protocol views: parse → one service call → encode, a few lines each.

The repository extension (index, load, unload) lives with the other lifecycle views in
`webapp/api/lifecycle.py`.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from webapp.api.v2 import codec, metadata
from webapp.api.v2.binary import HEADER, BinarySection, split_body
from webapp.api.v2.body import infer_response, loads, request_body
from webapp.extensions import service
from webapp.http.auth import auth
from webapp.http.errors import serving_error_response
from webapp.http.predict import predict, target
from webapp.serving.errors import ModelNotFound, ModelUnavailable, NotServed, ServingError
from webapp.serving.inputs import Inputs
from webapp.serving.models.spec import ModelSpec

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")
SERVER_VERSION = "1.0.0"
MODEL = "/models/<name>"
VERSIONED = "/models/<name>/versions/<version>"


@bp.errorhandler(ServingError)
def on_serving_error(exc: ServingError):
    """The core's errors as Triton words them where its clients know the text."""
    if isinstance(exc, ModelNotFound) and exc.label is None:
        which = f"'{exc.name}'" + (f" version {exc.version}" if exc.version is not None else "")
        if isinstance(exc, NotServed):
            gone = "is not at ready state" if exc.version is not None else "has no available versions"
            return serving_error_response(exc, f"Request for unknown model: {which} {gone} "
                                               f"({exc.reason})")
        return serving_error_response(exc, f"Request for unknown model: {which} is not found")
    return serving_error_response(exc)


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
    status = service().version(target(name, version, who=""))
    return jsonify(metadata.model_metadata(service().model(name), status))


@bp.get(MODEL + "/ready")
@bp.get(VERSIONED + "/ready")
@auth.login_required
def model_ready(name: str, version: str | None = None):
    """200 when the version (default: the default one) can answer; 503 when it cannot."""
    try:
        ok = service().version(target(name, version), available=False).ready
    except (ModelUnavailable, NotServed):  # an unloaded model exists: not ready, rather than unknown
        ok = False
    return jsonify(name=name, ready=ok), 200 if ok else 503


@bp.get(MODEL + "/config")
@bp.get(VERSIONED + "/config")
@auth.login_required
def model_config(name: str, version: str | None = None):
    status = service().version(target(name, version, who=""))
    return jsonify(metadata.model_config(status, service().options.max_batch_rows))


@bp.get("/models/stats")
@bp.get(MODEL + "/stats")
@bp.get(VERSIONED + "/stats")
@auth.login_required
def model_stats(name: str | None = None, version: str | None = None):
    """Triton's statistics extension, per worker; not advertised since workers count apart."""
    if name is None:
        versions = [v for model in service().models().values() for v in model.versions.values()]
    elif version is None:
        versions = list(service().model(name).versions.values())
    else:
        versions = [service().version(target(name, version), available=False)]
    return jsonify(model_stats=[metadata.version_stats(v) for v in versions])


@bp.post(MODEL + "/infer")
@bp.post(VERSIONED + "/infer")
@auth.login_required
def infer(name: str, version: str | None = None):
    parsed: list[codec.InferRequest] = []

    def decode(spec: ModelSpec) -> Inputs:
        body = request_body()
        header, binary = split_body(body, request.headers.get(HEADER))
        parsed.append(codec.parse_request(loads(header), BinarySection(binary), spec, len(body)))
        return parsed[0].instances

    answer = predict(target(name, version), decode)
    return infer_response(*codec.encode_response(answer, parsed[0]))

"""`/api/v1`: TensorFlow Serving's REST API (status, metadata, predict, classify, regress)."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.routing import BaseConverter

from webapp.api.common import PodiumApi, error

from . import resources


class ModelNameConverter(BaseConverter):
    """A model name segment: anything but '/' and ':' (validated against the store later)."""

    regex = r"[^/:]+"


def _routes(base: str) -> list[str]:
    return [base, f"{base}/versions/<version>", f"{base}/labels/<label>"]


def init_app(app) -> None:
    # a blueprint per app: flask-restful records on it, which a registered blueprint refuses
    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    app.url_map.converters["model"] = ModelNameConverter
    api = PodiumApi(bp)
    api.add_resource(resources.ModelList, "/models", endpoint="models")
    api.add_resource(resources.ModelStatus, *_routes("/models/<model:name>"), endpoint="status")
    api.add_resource(resources.ModelMetadata,
                     *[r + "/metadata" for r in _routes("/models/<model:name>")], endpoint="metadata")
    api.add_resource(resources.ModelVerb,
                     *[r + ":<any(predict,classify,regress):verb>" for r in _routes("/models/<model:name>")],
                     endpoint="verb")

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def malformed(rest: str):
        return error(400, f"Malformed request: {request.method} /v1/{rest}")

    app.register_blueprint(bp)

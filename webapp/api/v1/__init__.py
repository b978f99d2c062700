"""`/api/v1`: TensorFlow Serving's REST API (status, metadata, predict, classify, regress), and
Podium's `:feedback` for ground truth."""

from __future__ import annotations

from typing import Any

import flask_restful
from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from webapp.http.errors import http_error_response, json_error, serving_error_response
from webapp.http.jsonio import dumps
from webapp.serving.errors import ServingError

from . import resources
from .errors import tf_message


class ModelNameConverter(BaseConverter):
    """A model name segment: anything but '/' and ':' (validated against the store later)."""

    regex = r"[^/:]+"


def output_json(data: Any, code: int, headers: dict[str, str] | None = None):
    return current_app.response_class(dumps(data), code, headers, mimetype="application/json")


class TFServingApi(flask_restful.Api):
    """flask-restful replaces the app's error handlers on its routes: render ours, in TF's words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.representations = {"application/json": output_json}

    def handle_error(self, e: Exception):
        if isinstance(e, ServingError):
            return serving_error_response(e, tf_message(e))
        if isinstance(e, HTTPException):
            return http_error_response(e)
        if isinstance(e, RecursionError):  # input nested deeper than the code walking it can go
            return json_error(400, "JSON Parse error: the document is nested too deeply")
        raise e  # the app's handler logs it and answers a generic 500


def _routes(base: str) -> list[str]:
    return [base, f"{base}/versions/<version>", f"{base}/labels/<label>"]


def init_app(app: Flask) -> None:
    # a blueprint per app: flask-restful records on it, which a registered blueprint refuses
    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    app.url_map.converters["model"] = ModelNameConverter
    api = TFServingApi(bp)
    model = "/models/<model:name>"
    api.add_resource(resources.ModelList, "/models", endpoint="models")
    api.add_resource(resources.ModelStatus, *_routes(model), endpoint="status")
    api.add_resource(resources.ModelMetadata, *[r + "/metadata" for r in _routes(model)], endpoint="metadata")
    api.add_resource(resources.Feedback, model + ":feedback", endpoint="feedback")
    api.add_resource(resources.ModelVerb,
                     *[r + ":<any(predict,classify,regress):verb>" for r in _routes(model)], endpoint="verb")

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def malformed(rest: str):
        return json_error(400, f"Malformed request: {request.method} /v1/{rest}")

    app.register_blueprint(bp)

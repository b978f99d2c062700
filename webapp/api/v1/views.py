"""TF Serving REST views: parse → one service call → encode, a few lines each.

Plain Flask views rather than flask-restful resources: its per-request dispatch (method lookup,
representation choice, an error router patched over the whole app) made ~70 of a prediction's
~1,300 function calls.
Each view carries `auth.login_required` itself and answers through `json_response`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from webapp.extensions import service
from webapp.http.auth import auth
from webapp.http.errors import json_error, serving_error_response
from webapp.http.jsonio import dumps, read_json_body, require_object
from webapp.http.monitoring import record_truths
from webapp.http.predict import predict, target
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.inputs import Inputs
from webapp.serving.models.spec import KIND_TASKS, ModelSpec
from webapp.serving.monitoring import truths
from webapp.serving.service import Question

from . import codec, documents, kinds
from .errors import tf_message

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
MODEL = "/models/<model:name>"
ROUTES = (MODEL, f"{MODEL}/versions/<version>", f"{MODEL}/labels/<label>")


@bp.errorhandler(ServingError)
def on_serving_error(exc: ServingError) -> Response:
    return serving_error_response(exc, tf_message(exc))


@bp.errorhandler(RecursionError)
def on_too_deep(exc: RecursionError) -> Response:
    """Input nested deeper than the code walking it can go: the client's fault, not a 500."""
    return json_error(400, "JSON Parse error: the document is nested too deeply")


def json_response(data: Any, headers: dict[str, str] | None = None) -> Response:
    """A 200 in orjson (numpy arrays written directly), as TF Serving's clients expect."""
    return current_app.response_class(dumps(data), 200, headers, mimetype="application/json")


def routes(rules: tuple[str, ...], endpoint: str, method: str) -> Callable[[Callable], Callable]:
    """Register one view under several rules (a model, a version of it, a labelled version)."""
    def register(view: Callable) -> Callable:
        for rule in rules:
            bp.add_url_rule(rule, endpoint, view, methods=[method])
        return view
    return register


@bp.get("/models", endpoint="models")
@auth.login_required
def model_list() -> Response:
    return json_response(documents.model_list(service().models()))


@routes(ROUTES, "status", "GET")
@auth.login_required
def model_status(name: str, version: str | None = None, label: str | None = None) -> Response:
    where = target(name, version, label)
    if where.version is None and where.label is None:
        return json_response(documents.model_status(name, list(service().model(name).versions.values())))
    return json_response(documents.model_status(name, [service().version(where, available=False)]))


@routes(tuple(r + "/metadata" for r in ROUTES), "metadata", "GET")
@auth.login_required
def model_metadata(name: str, version: str | None = None, label: str | None = None) -> Response:
    return json_response(documents.metadata(service().version(target(name, version, label, who=""))))


@routes(tuple(r + ":<any(predict,classify,regress):verb>" for r in ROUTES), "verb", "POST")
@auth.login_required
def model_verb(name: str, verb: str, version: str | None = None, label: str | None = None) -> Response:
    """`:predict`, `:classify` and `:regress`; image models also take a multipart upload."""
    columnar = False

    def decode(spec: ModelSpec) -> Inputs | Question:
        nonlocal columnar
        files = uploaded_files()
        if files is not None:
            return codec.typed(files, spec)
        body = require_object(read_json_body())
        if spec.task in KIND_TASKS.values():
            return kinds.parse(body, spec, verb)
        if verb == "predict":
            inputs, columnar = codec.parse_predict(body, spec)
            return inputs
        return codec.parse_examples(body, spec, verb)

    answer = predict(target(name, version, label), decode)
    encoded = kinds.encode(answer) if answer.batch is None else codec.encode(answer, verb, columnar)
    return json_response(encoded, {"X-Model-Version": str(answer.version)})


@bp.post(MODEL + ":feedback", endpoint="feedback")
@auth.login_required
def feedback(name: str) -> Response:
    """`:feedback` (a Podium extra): the true label or value of logged predictions, one or many."""
    return json_response(record_truths(name, truths.from_json(read_json_body())))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def malformed(rest: str) -> Response:
    return json_error(400, f"Malformed request: {request.method} /v1/{rest}")


def uploaded_files() -> list[bytes] | None:
    """Bytes of every file part of a multipart request, or None when it is not multipart."""
    if request.mimetype != "multipart/form-data":
        return None
    files = [f.read() for key in request.files for f in request.files.getlist(key)]
    if not files:
        raise InvalidInput("The multipart request has no file part (use -F file=@image.png)")
    return files

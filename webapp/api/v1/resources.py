"""TF Serving REST resources: parse → one service call → encode, a few lines each.

Each method carries `auth.login_required` itself rather than through `method_decorators`, which
flask-restful applies anew on every request (a `functools.wraps` per call).
"""

from __future__ import annotations

from flask import request
from flask_restful import Resource

from webapp.extensions import service
from webapp.http.auth import auth
from webapp.http.jsonio import read_json_body, require_object
from webapp.http.monitoring import record_truths
from webapp.http.predict import predict, target
from webapp.serving.errors import InvalidInput
from webapp.serving.inputs import Inputs
from webapp.serving.models.spec import KIND_TASKS, ModelSpec
from webapp.serving.monitoring import truths
from webapp.serving.service import Question

from . import codec, documents, kinds


class ModelList(Resource):
    @auth.login_required
    def get(self):
        return documents.model_list(service().models())


class ModelStatus(Resource):
    @auth.login_required
    def get(self, name: str, version: str | None = None, label: str | None = None):
        where = target(name, version, label)
        if where.version is None and where.label is None:
            return documents.model_status(name, list(service().model(name).versions.values()))
        return documents.model_status(name, [service().version(where, available=False)])


class ModelMetadata(Resource):
    @auth.login_required
    def get(self, name: str, version: str | None = None, label: str | None = None):
        return documents.metadata(service().version(target(name, version, label, who="")))


class ModelVerb(Resource):
    """`:predict`, `:classify` and `:regress`; image models also take a multipart upload."""

    @auth.login_required
    def post(self, name: str, verb: str, version: str | None = None, label: str | None = None):
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
        return encoded, 200, {"X-Model-Version": str(answer.version)}


class Feedback(Resource):
    """`:feedback` (a Podium extra): the true label or value of logged predictions, one or many."""

    @auth.login_required
    def post(self, name: str):
        return record_truths(name, truths.from_json(read_json_body()))


def uploaded_files() -> list[bytes] | None:
    """Bytes of every file part of a multipart request, or None when it is not multipart."""
    if request.mimetype != "multipart/form-data":
        return None
    files = [f.read() for key in request.files for f in request.files.getlist(key)]
    if not files:
        raise InvalidInput("The multipart request has no file part (use -F file=@image.png)")
    return files



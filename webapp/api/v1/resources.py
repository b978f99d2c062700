"""TF Serving REST resources: parse → one service call → encode, a few lines each."""

from __future__ import annotations

from flask import current_app
from flask_restful import Resource

from webapp.api.common import caller_key, read_json_body, require_object, uploaded_files
from webapp.auth import auth
from webapp.serving.errors import InvalidInput
from webapp.serving.registry import parse_version
from webapp.serving.service import ModelService

from . import codec


def service() -> ModelService:
    return current_app.extensions["podium.service"]


def target(version: str | None, label: str | None) -> tuple[int | None, str | None]:
    try:
        return parse_version(version), label
    except ValueError:
        raise InvalidInput(f"Failed to convert version: {version[:40]!r} is not a positive integer") from None


def served_headers(version: int) -> dict[str, str]:
    return {"X-Model-Version": str(version)}


class ModelList(Resource):
    method_decorators = [auth.login_required]

    def get(self):
        return codec.encode_model_list(service().models())


class ModelStatus(Resource):
    method_decorators = [auth.login_required]

    def get(self, name: str, version: str | None = None, label: str | None = None):
        number, label = target(version, label)
        if number is None and label is None:
            view = service().model(name)
            return codec.encode_status(view, list(view.versions.values()))
        lv = service().lookup(name, number, label)
        return codec.encode_status(service().model(name), [lv])


class ModelMetadata(Resource):
    method_decorators = [auth.login_required]

    def get(self, name: str, version: str | None = None, label: str | None = None):
        lv = service().resolve(name, *target(version, label))
        return codec.encode_metadata(lv)


class ModelVerb(Resource):
    """`:predict`, `:classify` and `:regress`; image models also take a multipart upload."""

    method_decorators = [auth.login_required]

    def post(self, name: str, verb: str, version: str | None = None, label: str | None = None):
        number, label = target(version, label)
        lv = service().resolve(name, number, label, caller_key())
        with lv.slot():  # a full queue refuses before the body is parsed
            return self._answer(lv, verb)

    def _answer(self, lv, verb: str):
        spec = lv.spec
        files = uploaded_files()
        if files is not None:
            instances, columnar, body = files, False, {}
        else:
            body = require_object(read_json_body())
            if verb == "predict":
                instances, columnar = codec.parse_predict(body, spec)
            else:
                instances, columnar = codec.parse_examples(body, spec, verb), False
        prediction = service().predict_on(lv, instances)
        if verb == "classify":
            return codec.encode_classify(prediction), 200, served_headers(prediction.version)
        if verb == "regress":
            return codec.encode_regress(prediction), 200, served_headers(prediction.version)
        return codec.encode_predict(prediction, columnar), 200, served_headers(prediction.version)

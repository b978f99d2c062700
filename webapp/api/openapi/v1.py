"""OpenAPI 3.1 document for `/api/v1`: TensorFlow Serving's REST API plus Podium's extras."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.common import (
    JSON,
    SERVER_TIMING,
    document,
    errors,
    json_body,
    label_param,
    model_param,
    ok,
    operation,
    version_param,
)
from webapp.api.openapi.monitoring import feedback_operation

NUMBERS = {"type": "array", "description": "Rows: one list of numbers (or a nested image array) each"}
VERSION_HEADER = {"X-Model-Version": {"required": True, "description": "The version that answered",
                                      "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
VERSION_STATUS = {
    "type": "object", "required": ["version", "state", "status"],
    "properties": {
        "version": {"type": "string"},
        "state": {"enum": ["UNKNOWN", "START", "LOADING", "AVAILABLE", "UNLOADING", "END"]},
        "status": {"type": "object", "properties": {"error_code": {"type": "string"},
                                                    "error_message": {"type": "string"}}},
    },
}
MODEL_STATUS = {
    "type": "object", "required": ["model_version_status"],
    "properties": {"model_version_status": {"type": "array", "items": VERSION_STATUS},
                   "name": {"type": "string"}, "ready": {"type": "boolean"}},
}
MODEL_LIST = {
    "type": "object", "required": ["models"],
    "properties": {"models": {"type": "array", "items": {
        "type": "object", "required": ["name", "versions", "ready"],
        "properties": {"name": {"type": "string"}, "default_version": {"type": ["integer", "null"]},
                       "labels": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "versions": {"type": "array", "items": VERSION_STATUS},
                       "ready": {"type": "boolean"}}}}},
}
METADATA = {
    "type": "object", "required": ["model_spec", "metadata"],
    "properties": {
        "model_spec": {"type": "object", "properties": {
            "name": {"type": "string"}, "signature_name": {"type": "string"}, "version": {"type": "string"}}},
        "metadata": {"type": "object", "required": ["signature_def"],
                     "properties": {"signature_def": {"type": "object"}}},
        "podium": {"type": "object", "description": "Manifest facts TF Serving has no place for"},
    },
}
PREDICT_REQUEST = {
    "type": "object",
    "description": "Exactly one of `instances` (row format) or `inputs` (columnar format). "
                   'Binary values (encoded images) are objects {"b64": "..."}.',
    "properties": {"signature_name": {"type": "string"}, "instances": NUMBERS, "inputs": {}},
}
PREDICT_RESPONSE = {
    "type": "object", "description": "`predictions` for row requests, `outputs` for columnar ones",
    "properties": {"predictions": {"type": "array"}, "outputs": {}},
}
EXAMPLES_REQUEST = {
    "type": "object", "required": ["examples"],
    "description": "tf.Example-style rows: one value (or a one-value list) per named feature, or a "
                   'whole row as the list of the signature\'s input (`{"inputs": [5.1, 3.5, 1.4, 0.2]}`); '
                   "`context` holds features shared by every example (never also in an example).",
    "properties": {"signature_name": {"type": "string"}, "context": {"type": "object"},
                   "examples": {"type": "array", "items": {"type": "object"}}},
}
CLASSIFY_RESPONSE = {"type": "object", "required": ["results"], "properties": {"results": {
    "type": "array", "items": {"type": "array", "items": {
        "type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]}}}}}
REGRESS_RESPONSE = {"type": "object", "required": ["results"],
                    "properties": {"results": {"type": "array", "items": {"type": "number"}}}}
UPLOAD = {"type": "object", "properties": {"file": {"type": "string", "contentMediaType":
                                                    "application/octet-stream"}}}

REQUEST_KEY = {"name": "X-Request-Key", "in": "header", "required": False,
               "description": "Sticky key for traffic splits (defaults to the user name)",
               "schema": {"type": "string", "maxLength": 200}}
BASES = {"": [], "/versions/{version}": [version_param()], "/labels/{label}": [label_param()]}
VERBS = {
    "predict": ("Predict (rows or columns); image models also take a multipart upload",
                {"content": {JSON: {"schema": PREDICT_REQUEST}, "multipart/form-data": {"schema": UPLOAD}}},
                PREDICT_RESPONSE),
    "classify": ("Classify tf.Example-style rows: [[label, score], ...] per row",
                 json_body(EXAMPLES_REQUEST), CLASSIFY_RESPONSE),
    "regress": ("Regress tf.Example-style rows: one value per row", json_body(EXAMPLES_REQUEST),
                REGRESS_RESPONSE),
}


def paths() -> dict[str, Any]:
    out: dict[str, Any] = {"/api/v1/models": {"get": operation(
        "List every model with its versions, labels and default (Podium extra)",
        {**ok(MODEL_LIST), **errors(400)}, tags=["models"], op_id="listModels")}}
    for suffix, extra in BASES.items():
        base = "/api/v1/models/{name}" + suffix
        params = [model_param(), *extra]
        key = suffix.split("/")[1].capitalize() if suffix else ""
        out[base] = {"get": operation(
            "Model status: the state of each version", {**ok(MODEL_STATUS), **errors(400, 404)},
            tags=["models"], parameters=params, op_id=f"modelStatus{key}")}
        out[base + "/metadata"] = {"get": operation(
            "Model metadata: signature_def and Podium's manifest facts",
            {**ok(METADATA), **errors(400, 404, 503)}, tags=["models"], parameters=params,
            op_id=f"modelMetadata{key}")}
        for verb, (summary, body, response) in VERBS.items():
            out[f"{base}:{verb}"] = {"post": operation(
                summary, {**ok(response, headers={**VERSION_HEADER, **SERVER_TIMING}),
                          **errors(400, 404, 413, 503)},
                tags=["inference"], parameters=[*params, REQUEST_KEY], body={**body, "required": True},
                op_id=f"{verb}{key}")}
    out["/api/v1/models/{name}:feedback"] = feedback_operation("feedback")
    out["/api/v1/openapi.json"] = {"get": operation(
        "This document", ok({"type": "object"}), tags=["meta"], auth="none", op_id="openapiV1")}
    return out


def v1_document() -> dict[str, Any]:
    return document(
        "Podium /api/v1 (TensorFlow Serving REST)",
        "TensorFlow Serving's REST API over Keras and scikit-learn models. Point a TF Serving client at "
        "`http://host/api`. Errors are `{\"error\": \"...\"}` with TF Serving's status codes. Every answer "
        "to a prediction carries the serving version in `X-Model-Version` and Podium's request id in "
        "`X-Podium-Request-ID` (what `:feedback` names); send `X-Request-Key` to stay on one side of a "
        "traffic split.",
        paths(),
        [{"name": "models", "description": "Status and metadata"},
         {"name": "inference", "description": "predict, classify, regress"},
         {"name": "monitoring", "description": "Ground truth for logged predictions (a Podium extra)"},
         {"name": "meta", "description": "This document"}],
    )

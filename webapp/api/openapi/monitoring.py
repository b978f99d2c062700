"""Podium's monitoring routes in OpenAPI 3.1: `:feedback` in `/api/v1`, and in `/api/v2` the
feedback, report, recompute and export routes of `webapp/api/v2/monitoring.py`."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.common import errors, json_body, model_param, ok, operation

TRUTH = {"description": "A label (classifiers), a number (regressors), or a list of them for a request "
                        "that predicted several rows",
         "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "array"}]}
ONE_TRUTH = {"type": "object", "required": ["request_id", "truth"], "additionalProperties": False,
             "properties": {"request_id": {"type": "string", "minLength": 1, "maxLength": 128,
                                           "description": "The answer's X-Podium-Request-ID"},
                            "truth": TRUTH}}
FEEDBACK_REQUEST = {"oneOf": [ONE_TRUTH, {
    "type": "object", "required": ["truths"], "additionalProperties": False,
    "properties": {"truths": {"type": "array", "minItems": 1, "maxItems": 10000, "items": ONE_TRUTH}}}]}
FEEDBACK_RESPONSE = {"type": "object", "required": ["recorded", "unchanged"], "properties": {
    "recorded": {"type": "integer", "description": "New truths stored"},
    "unchanged": {"type": "integer", "description": "The same truth was already stored (idempotent)"}}}
FEEDBACK_ERRORS = {
    "400": json_body({"$ref": "#/components/schemas/Error"},
                     "Malformed body, a truth of the wrong type, or a label the model does not have"),
    "404": json_body({"$ref": "#/components/schemas/Error"},
                     "A request id never logged for this model (failed, sampled out, or unknown)"),
    "409": json_body({"$ref": "#/components/schemas/Error"}, "A different truth was already stored"),
    **errors(413),
    "503": json_body({"$ref": "#/components/schemas/Error"}, "The prediction log's database is down"),
}
ALERT = {"type": "object", "required": ["name", "key", "severity", "text"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string"}, "severity": {"enum": ["warning", "critical"]},
    "text": {"type": "string"}}}
REPORT = {"type": "object", "required": ["model", "computed_at", "summary", "alerts"], "properties": {
    "model": {"type": "string"}, "computed_at": {"type": ["number", "null"]},
    "summary": {"type": ["object", "null"], "description": "Per version: drift per feature with "
                "histograms, prediction drift, live and held-out quality, estimated accuracy (CBPE), "
                "answers over time; `ab` compares versions. Null before the first round."},
    "alerts": {"type": "array", "items": ALERT}, "error": {"type": ["string", "null"]},
    "interval_seconds": {"type": "number"}}}
OVERVIEW = {"type": "object", "required": ["log", "models"], "properties": {
    "log": {"type": "object", "description": "The answering worker's prediction log: queue, drops by "
            "reason, lag, database health, the monitor's last run and errors"},
    "models": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "computed_at": {"type": ["number", "null"]}, "alerts": {"type": "array", "items": ALERT},
        "error": {"type": ["string", "null"]}}}}}}
TIME = {"type": "string", "description": "ISO 8601 (UTC unless it says) or seconds since the epoch"}
EXPORT_PARAMS = [
    {"name": "format", "in": "query", "required": False, "schema": {"enum": ["csv", "parquet"]}},
    {"name": "since", "in": "query", "required": False, "schema": TIME},
    {"name": "until", "in": "query", "required": False, "schema": TIME},
    {"name": "reveal", "in": "query", "required": False, "schema": {"enum": ["true", "false"]},
     "description": "Decrypt encrypted sensitive features (needs the server's key)"},
]
EXPORT_OK = {"200": {"description": "One row per predicted instance with its truth", "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "contentMediaType":
                                                  "application/vnd.apache.parquet"}}}}}


def feedback_operation(op_id: str) -> dict[str, Any]:
    return {"post": operation(
        "Ground truth for logged predictions, one or many (idempotent)",
        {**ok(FEEDBACK_RESPONSE), **FEEDBACK_ERRORS}, tags=["monitoring"], parameters=[model_param()],
        body={**json_body(FEEDBACK_REQUEST), "required": True}, op_id=op_id)}


def v2_monitoring_paths() -> dict[str, Any]:
    base, model = "/api/v2/models/{name}", [model_param()]
    missing = json_body({"$ref": "#/components/schemas/Error"}, "No such model, or monitoring is off")
    down = json_body({"$ref": "#/components/schemas/Error"}, "The prediction log's database is down")
    requested = {"type": "object", "required": ["requested", "model"],
                 "properties": {"requested": {"type": "boolean"}, "model": {"type": "string"}}}
    return {
        base + "/feedback": feedback_operation("feedbackV2"),
        base + "/monitoring": {
            "get": operation("The model's latest drift, quality, estimated accuracy, A/B table and alerts",
                             {**ok(REPORT), "404": missing, "503": down}, tags=["monitoring"],
                             parameters=model, op_id="monitoringReport"),
            "post": operation("Recompute the model's report now, in the background",
                              {**ok(requested, "Requested", status=202), "404": missing},
                              tags=["monitoring"], parameters=model, op_id="monitoringRecompute")},
        base + "/log": {"get": operation(
            "Export the model's logged predictions with their ground truth (CSV or Parquet)",
            {**EXPORT_OK, **errors(400), "404": missing, "503": down}, tags=["monitoring"],
            parameters=[*model, *EXPORT_PARAMS], auth="admin", op_id="exportLog")},
        "/api/v2/monitoring": {"get": operation(
            "The prediction log's health and every model's alerts", {**ok(OVERVIEW), "404": missing},
            tags=["monitoring"], op_id="monitoringOverview")},
    }

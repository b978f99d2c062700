"""The admin lifecycle routes of `/api/v2/repository` (webapp/api/lifecycle) in OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.common import errors, json_body, label_param, model_param, ok, operation, path_param

BASE = "/api/v2/repository/models/{name}"
POSITIVE = {"type": "integer", "minimum": 1}
VERSION_INFO = {"type": "object", "required": ["version", "state"], "properties": {
    "version": {"type": "integer"}, "state": {"enum": ["LOADING", "AVAILABLE", "FAILED", "UNLOADED"]},
    "reason": {"type": "string"}, "requests": {"type": "integer"}, "errors": {"type": "integer"}}}
LIFECYCLE = {
    "type": "object", "required": ["name", "stored", "config", "labels", "versions"],
    "description": "The model's desired state (config.json) beside what the answering worker serves",
    "properties": {
        "name": {"type": "string"}, "stored": {"type": "array", "items": {"type": "integer"}},
        "config": {"type": "object"},
        "labels": {"type": "object", "additionalProperties": {"type": "integer"}},
        "default_version": {"type": ["integer", "null"]},
        "serving_default": {"type": ["integer", "null"]},
        "split": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        "unloaded": {"type": "boolean"},
        "versions": {"type": "object", "additionalProperties": VERSION_INFO},
        "version": {"type": "integer", "description": "rollback only: the version now served"},
    },
}
PUBLISHED = {"type": "object", "required": ["name", "version"],
             "properties": {"name": {"type": "string"}, "version": {"type": "integer"}}}
UPLOAD = {"type": "object", "required": ["manifest", "artifact"], "properties": {
    "manifest": {"type": "string", "contentMediaType": "application/json",
                 "description": "model.json: framework, artifact, task, inputs, outputs"},
    "artifact": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "The .skops or .keras file the manifest names (pickles only for "
                                "trusted models)"},
    "heldout": {"type": "string", "contentMediaType": "application/json",
                "description": "Optional held-out rows {x, y}"}},
    "additionalProperties": {"type": "string", "contentMediaType": "application/octet-stream",
                             "description": "A recommender's or chat's other files, each a part named as "
                                            "the manifest's `files` lists it (e.g. `ids.json`)"}}
AUDIT = {"type": "object", "required": ["entries"], "properties": {"entries": {"type": "array", "items": {
    "type": "object", "required": ["time", "user", "action", "model"],
    "properties": {"time": {"type": "string"}, "user": {"type": "string"}, "action": {"type": "string"},
                   "model": {"type": "string"}}}}}}
VERSION_BODY = json_body({"type": "object", "required": ["version"],
                          "properties": {"version": POSITIVE}}, "The version to point at")
DEFAULT_BODY = json_body({"type": "object", "required": ["version"],
                          "properties": {"version": {"type": ["integer", "null"], "minimum": 1}}},
                         "The default version, or null for the newest available")
SPLIT_BODY = json_body({"type": "object", "required": ["weights"], "properties": {"weights": {
    "type": "object", "minProperties": 2, "propertyNames": {"pattern": "^[1-9][0-9]{0,17}$"},
    "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 99}}}},
    'Weights per version, summing to 100: {"weights": {"2": 90, "3": 10}}')
VERSION = path_param("version", "Version number", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "1")


def _admin(summary: str, responses: dict[str, Any], op_id: str, params: list | None = None,
           body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {**body, "required": True} if body else None
    return operation(summary, responses, tags=["lifecycle"], parameters=params or [model_param()],
                     body=body, auth="admin", op_id=op_id)


def lifecycle_paths() -> dict[str, Any]:
    changed = ok(LIFECYCLE, "The model's lifecycle state after the change")
    return {
        f"{BASE}/versions": {"post": _admin(
            "Publish a new version: validated in a separate process, then published atomically",
            {**ok(PUBLISHED, "Published", 201), **errors(400, 404, 409, 413, 507)}, "publishVersion",
            body={"content": {"multipart/form-data": {"schema": UPLOAD}}})},
        f"{BASE}/versions/{{version}}": {"delete": _admin(
            "Delete a version that no label, default or split uses", {**changed, **errors(400, 404, 409)},
            "deleteVersion", [model_param(), VERSION])},
        f"{BASE}/labels/{{label}}": {
            "put": _admin("Point a label at a version", {**changed, **errors(400, 404, 409)}, "setLabel",
                          [model_param(), label_param()], VERSION_BODY),
            "delete": _admin("Remove a label", {**changed, **errors(400, 404)}, "deleteLabel",
                             [model_param(), label_param()])},
        f"{BASE}/default": {"put": _admin(
            "Set (or clear, with null) the default version", {**changed, **errors(400, 404, 409)},
            "setDefault", body=DEFAULT_BODY)},
        f"{BASE}/rollback": {"post": _admin(
            "Roll back in one call: the version below the current default becomes the default "
            "(and `stable`); any split is cleared", {**changed, **errors(400, 404, 409)}, "rollback")},
        f"{BASE}/split": {
            "put": _admin("Split unnamed requests between versions by weight, sticky per caller",
                          {**changed, **errors(400, 404, 409)}, "setSplit", body=SPLIT_BODY),
            "delete": _admin("Remove the traffic split", {**changed, **errors(400, 404)}, "deleteSplit")},
        f"{BASE}/lifecycle": {"get": _admin(
            "The model's config, stored versions and per-version states", {**changed, **errors(400, 404)},
            "getLifecycle")},
        "/api/v2/repository/audit": {"get": operation(
            "The newest audit entries (who, what, when), newest first", {**ok(AUDIT), **errors(400)},
            tags=["lifecycle"], auth="admin", op_id="audit", parameters=[{
                "name": "limit", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 200}}])},
    }



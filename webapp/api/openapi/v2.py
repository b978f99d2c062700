"""OpenAPI 3.1 document for `/api/v2`: the Open Inference Protocol (KServe V2 / Triton REST) with
its model repository and configuration extensions, plus Podium's admin lifecycle routes.

The data-plane part follows PROTOCOLS.md §3b; the lifecycle part is `webapp/api/lifecycle`.
"""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.common import (
    JSON,
    SERVER_TIMING,
    document,
    errors,
    json_body,
    model_param,
    ok,
    operation,
    version_param,
)
from webapp.api.openapi.monitoring import v2_monitoring_paths
from webapp.api.openapi.tokens import token_paths
from webapp.api.openapi.v2_lifecycle import lifecycle_paths

DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
             "FP16", "FP32", "FP64", "BF16", "BYTES"]
SHAPE = {"type": "array", "items": {"type": "integer", "minimum": -1}}
TENSOR_META = {"type": "object", "required": ["name", "datatype", "shape"],
               "properties": {"name": {"type": "string"}, "datatype": {"enum": DATATYPES},
                              "shape": SHAPE, "parameters": {"type": "object"}}}
TENSOR = {**TENSOR_META, "properties": {**TENSOR_META["properties"], "data": {
    "type": "array", "description": "Row-major, flat or nested; absent when binary_data_size is set"}}}
INFER_REQUEST = {
    "type": "object", "required": ["inputs"],
    "description": "Unknown top-level keys (e.g. kserve's model_name) are ignored.",
    "properties": {
        "id": {"type": "string"}, "parameters": {"type": "object"},
        "inputs": {"type": "array", "minItems": 1, "items": {**TENSOR, "required": ["name", "datatype",
                                                                                  "shape"]}},
        "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "parameters": {"type": "object", "properties": {
                "binary_data": {"type": "boolean"}, "classification": {"type": "integer", "minimum": 1}}}}}},
    },
}
INFER_RESPONSE = {
    "type": "object", "required": ["model_name", "outputs"],
    "properties": {"model_name": {"type": "string"}, "model_version": {"type": "string"},
                   "id": {"type": "string"}, "parameters": {"type": "object"},
                   "outputs": {"type": "array", "items": TENSOR}},
}
BINARY = {"type": "string", "contentMediaType": "application/octet-stream",
          "description": "Binary tensor data extension: the JSON header (its length in the "
                         "Inference-Header-Content-Length header), then raw little-endian tensors"}
MODEL_METADATA = {
    "type": "object", "required": ["name", "platform", "inputs", "outputs"],
    "properties": {"name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
                   "platform": {"type": "string"}, "inputs": {"type": "array", "items": TENSOR_META},
                   "outputs": {"type": "array", "items": TENSOR_META}},
}
MODEL_CONFIG = {
    "type": "object", "required": ["name", "max_batch_size", "input", "output"],
    "description": "Triton's model configuration extension (what perf_analyzer reads)",
    "properties": {"name": {"type": "string"}, "platform": {"type": "string"},
                   "max_batch_size": {"type": "integer", "minimum": 0},
                   "input": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                   "output": {"type": "array", "items": {"type": "object", "required": ["name"]}}},
}
MODEL_READY = {"type": "object", "required": ["ready"],
               "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}}}
STATS = {"type": "object", "required": ["model_stats"], "properties": {"model_stats": {
    "type": "array", "items": {"type": "object", "required": ["name", "version"], "properties": {
        "name": {"type": "string"}, "version": {"type": "string"}, "inference_count": {"type": "integer"},
        "execution_count": {"type": "integer"}, "inference_stats": {"type": "object"}}}}}}
SERVER_METADATA = {"type": "object", "required": ["name", "version", "extensions"],
                   "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                  "extensions": {"type": "array", "items": {"type": "string"}}}}
INDEX = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "version": {"type": "string"}, "state": {"type": "string"},
    "reason": {"type": "string"}}}}
REPOSITORY_BODY = {"required": False, "content": {JSON: {"schema": {"type": "object", "properties": {
    "parameters": {"type": "object"}}}}}}  # tritonclient sends {"parameters": {"unload_dependents": false}}
INDEX_BODY = {"required": False, "content": {JSON: {"schema": {"type": "object", "properties": {
    "ready": {"type": "boolean", "description": "true: only models that are ready"}}}}}}
REQUEST_KEY = {"name": "X-Request-Key", "in": "header", "required": False,
               "description": "Sticky key for traffic splits (defaults to the user name)",
               "schema": {"type": "string", "maxLength": 200}}
TAGS = [{"name": "health", "description": "Liveness and readiness"},
        {"name": "metadata", "description": "Server and model metadata, Triton model config"},
        {"name": "inference", "description": "infer (JSON or binary tensors)"},
        {"name": "repository", "description": "Model repository extension: index, load, unload"},
        {"name": "lifecycle", "description": "Admin: publish, labels, default, rollback, split, audit"},
        {"name": "monitoring", "description": "Podium's: ground truth, drift, quality, A/B, export"},
        {"name": "tokens", "description": "API tokens: make (shown once), list, revoke"},
        {"name": "meta", "description": "This document"}]


def _model_routes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for suffix, extra, key in (("", [], ""), ("/versions/{version}", [version_param()], "Version")):
        base = "/api/v2/models/{name}" + suffix
        params = [model_param(), *extra]
        out[base] = {"get": operation("Model metadata", {**ok(MODEL_METADATA), **errors(400, 404, 503)},
                                      tags=["metadata"], parameters=params, op_id=f"modelMetadata{key}")}
        out[base + "/ready"] = {"get": operation(
            "Model readiness: 200 when ready, 503 when not (tritonclient reads only the status)",
            {**ok(MODEL_READY, "Ready"), "503": json_body(MODEL_READY, "Not ready"), **errors(400, 404)},
            tags=["health"], parameters=params, op_id=f"modelReady{key}")}
        out[base + "/config"] = {"get": operation(
            "Triton model configuration", {**ok(MODEL_CONFIG), **errors(400, 404, 503)},
            tags=["metadata"], parameters=params, op_id=f"modelConfig{key}")}
        out[base + "/stats"] = {"get": operation(
            "Triton statistics for the model (this worker's counters)", {**ok(STATS), **errors(400, 404)},
            tags=["metadata"], parameters=params, op_id=f"modelStats{key}")}
        out[base + "/infer"] = {"post": operation(
            "Inference; the answer's model_version is the version that served it",
            {"200": {"description": "Outputs", "headers": SERVER_TIMING,
                     "content": {JSON: {"schema": INFER_RESPONSE},
                                 "application/octet-stream": {"schema": BINARY}}},
             **errors(400, 404, 413, 503)},
            tags=["inference"], parameters=[*params, REQUEST_KEY], op_id=f"infer{key}",
            body={"required": True, "content": {JSON: {"schema": INFER_REQUEST},
                                                "application/octet-stream": {"schema": BINARY}}})}
    return out


def data_plane_paths() -> dict[str, Any]:
    """The Open Inference Protocol routes (served by webapp/api/v2)."""
    ready = {"type": "object", "required": ["ready"], "properties": {"ready": {"type": "boolean"}}}
    paths: dict[str, Any] = {
        "/api/v2": {"get": operation("Server metadata and the extensions Podium implements",
                                     ok(SERVER_METADATA), tags=["metadata"], op_id="serverMetadata")},
        "/api/v2/health/live": {"get": operation(
            "Liveness: the process answers", ok({"type": "object", "required": ["live"], "properties": {
                "live": {"type": "boolean"}}}), tags=["health"], auth="none", op_id="serverLive")},
        "/api/v2/health/ready": {"get": operation(
            "Readiness: every expected model is AVAILABLE (503 with {ready: false} when not)",
            {**ok(ready), "503": json_body(ready, "Not ready")}, tags=["health"], auth="none",
            op_id="serverReady")},
        **_model_routes(),
        "/api/v2/repository/index": {"post": operation(
            "Model repository index: every stored version with its state", {**ok(INDEX), **errors(400, 413)},
            tags=["repository"], body=INDEX_BODY, op_id="repositoryIndex")},
        "/api/v2/models/stats": {"get": operation(
            "Triton statistics for every model (this worker's counters)", ok(STATS), tags=["metadata"],
            op_id="allModelStats")},
    }
    for verb in ("load", "unload"):
        paths[f"/api/v2/repository/models/{{name}}/{verb}"] = {"post": operation(
            f"{verb.capitalize()} the model in every worker (recorded in config.json and the audit log)",
            {**ok({"type": "object"}, "Done"), **errors(400, 404, 413)}, tags=["repository"],
            parameters=[model_param()], body=REPOSITORY_BODY, auth="admin", op_id=f"repository{verb}")}
    return paths


def v2_document() -> dict[str, Any]:
    meta = {"/api/v2/openapi.json": {"get": operation(
        "This document", ok({"type": "object"}), tags=["meta"], auth="none", op_id="openapiV2")}}
    return document(
        "Podium /api/v2 (Open Inference Protocol) and model lifecycle",
        "The Open Inference Protocol as KServe, Triton and MLServer speak it: point tritonclient at "
        "`host:port/api` or kserve's client at `http://host/api`. Errors are `{\"error\": \"...\"}`. "
        "The `/api/v2/repository/models/{name}/...` lifecycle routes need the admin role.",
        {**data_plane_paths(), **v2_monitoring_paths(), **lifecycle_paths(), **token_paths(), **meta}, TAGS,
    )

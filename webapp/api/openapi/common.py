"""Pieces both OpenAPI documents share: errors, auth, path parameters, small builders."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

ERROR_MESSAGES = {
    400: "Bad request: the message names the problem",
    401: "No or wrong credentials: basic auth, or an API token (Bearer, or the basic-auth password) "
         "that is unknown, malformed, expired or revoked",
    403: "The user lacks the admin role, or the token's scope does not cover this request",
    404: "No such model, version or label, or the model is unloaded (not served)",
    405: "Method not allowed",
    409: "The change contradicts the store's state",
    413: "The body, batch or image is over a configured limit",
    429: "Too many failed logins, or the client's rate limit is spent; retry after Retry-After seconds",
    503: "The version is loading (with Retry-After) or failed to load",
    507: "The server could not write the version (disk full)",
}


SERVER_TIMING = {"Server-Timing": {
    "description": "Where the time went, in milliseconds: queue wait, decode, compute, encode",
    "schema": {"type": "string"},
    "example": "queue;dur=0.000, decode;dur=0.210, compute;dur=0.331, encode;dur=0.054"}}


def components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "basicAuth": {"type": "http", "scheme": "basic",
                          "description": "A user and password, or any user name and an API token"},
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "An API token (`pdm_...`) from /api/tokens, the Tokens page "
                                          "or `flask tokens create`"}},
        "schemas": {"Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string", "description": "What went wrong, for a person"}},
        }},
    }


def json_body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    body = {"content": {JSON: {"schema": schema}}}
    return {**body, "description": description} if description else body


def ok(schema: dict[str, Any], description: str = "OK", status: int = 200,
       headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = json_body(schema, description)
    if headers:
        response["headers"] = headers
    return {str(status): response}


def errors(*codes: int) -> dict[str, Any]:
    """Error responses, all `{"error": "..."}` JSON."""
    return {str(code): json_body({"$ref": "#/components/schemas/Error"}, ERROR_MESSAGES[code])
            for code in codes}


def path_param(name: str, description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    param = {"name": name, "in": "path", "required": True, "description": description, "schema": schema}
    if example is not None:
        param["example"] = example
    return param


def model_param(name: str = "name") -> dict[str, Any]:
    return path_param(name, "Model name", {"type": "string", "pattern": MODEL_NAME}, "iris")


def version_param() -> dict[str, Any]:
    return path_param("version", "Version number (a positive integer)",
                      {"type": "string", "pattern": r"^[0-9]{1,18}$"}, "1")


def label_param() -> dict[str, Any]:
    return path_param("label", "Version label, e.g. stable or canary",
                      {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$"}, "stable")


def operation(summary: str, responses: dict[str, Any], *, tags: list[str], parameters: list | None = None,
              body: dict[str, Any] | None = None, auth: str = "user", op_id: str = "") -> dict[str, Any]:
    """One operation; `auth` is "user" (any user), "admin" (errors include 403) or "none"."""
    op: dict[str, Any] = {"summary": summary, "tags": tags, "responses": responses}
    if op_id:
        op["operationId"] = op_id
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    if auth == "none":
        op["security"] = []
    else:
        op["responses"] = {**responses, **errors(401, 429), **(errors(403) if auth == "admin" else {})}
    return op


def document(title: str, description: str, paths: dict[str, Any], tags: list[dict[str, str]]) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "tags": tags,
        "paths": paths,
        "components": components(),
    }

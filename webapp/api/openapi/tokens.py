"""The OpenAPI paths of `/api/tokens` (API tokens: make, list, revoke), part of the v2 document."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.common import errors, json_body, ok, operation, path_param

TOKEN = {
    "type": "object", "required": ["id", "user", "name", "scope", "state", "created_at"],
    "properties": {
        "id": {"type": "string", "description": "Public id, used to revoke"},
        "user": {"type": "string"}, "name": {"type": "string"},
        "scope": {"enum": ["predict", "read", "admin"]},
        "state": {"enum": ["active", "expired", "revoked"]},
        "created_by": {"type": "string"}, "created_at": {"type": "number"},
        "expires_at": {"type": ["number", "null"]}, "last_used_at": {"type": ["number", "null"]},
        "revoked_at": {"type": ["number", "null"]},
    },
}
MADE = {**TOKEN, "required": [*TOKEN["required"], "token"], "properties": {
    **TOKEN["properties"],
    "token": {"type": "string", "pattern": "^pdm_", "description": "The secret, shown only in this answer"}}}
CREATE = {
    "type": "object", "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 64, "description": "What it is for"},
        "scope": {"enum": ["predict", "read", "admin"], "default": "predict",
                  "description": "read: GET only; predict: also predict and feedback; admin: the "
                                 "user's own role"},
        "expires_in_days": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3650},
        "user": {"type": "string", "description": "Admins only: make it for this user"},
    },
}


def token_paths() -> dict[str, Any]:
    listing = {"type": "object", "required": ["tokens"],
               "properties": {"tokens": {"type": "array", "items": TOKEN}}}
    user = {"name": "user", "in": "query", "required": False, "schema": {"type": "string"},
            "description": "Admins only: this user's tokens, or `*` for everyone's"}
    return {
        "/api/tokens": {
            "get": operation("Your API tokens (never the secrets)", {**ok(listing), **errors(403, 503)},
                             tags=["tokens"], parameters=[user], op_id="listTokens"),
            "post": operation("Make an API token; the answer holds the secret, once",
                              {**ok(MADE, "Made", 201), **errors(400, 403, 404, 503)}, tags=["tokens"],
                              body={**json_body(CREATE), "required": True}, op_id="createToken"),
        },
        "/api/tokens/{token_id}": {"delete": operation(
            "Revoke a token; every worker refuses it within TOKEN_POLL_SECONDS",
            {**ok(TOKEN), **errors(403, 404, 503)}, tags=["tokens"],
            parameters=[path_param("token_id", "The token's public id", {"type": "string"}, "a1b2c3d4e5f6")],
            op_id="revokeToken")},
    }

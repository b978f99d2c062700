"""`/api/tokens`: a user's API tokens (an admin's: anyone's). Create answers the secret once.

Managing tokens needs a password or an `admin`-scope token, so a leaked `predict` token cannot
mint others. Errors are `{"error": ...}` like the rest of the API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, jsonify, request

from webapp.accounts.tokens import TokenError, TokenNotFound
from webapp.extensions import tokens, users
from webapp.http.auth import auth
from webapp.http.errors import json_error
from webapp.http.jsonio import read_json_body, require_object

bp = Blueprint("api_tokens", __name__, url_prefix="/api/tokens")


@bp.errorhandler(TokenError)
def on_token_error(exc: TokenError):
    return json_error(exc.status, str(exc))


@bp.before_request
@auth.login_required
def managers_only():
    token = g.get("token")
    if token is not None and token.scope != "admin":
        return json_error(403, f"A token of scope {token.scope} cannot manage tokens; use a "
                               "password or an admin-scope token")
    return None


def _is_admin() -> bool:
    return g.get("role") == "admin"


@bp.get("")
def list_tokens():
    """The caller's tokens; an admin may ask for one user's (`?user=`) or everyone's (`?user=*`)."""
    who = request.args.get("user", g.user) if _is_admin() else g.user
    found = tokens().list(None if who == "*" else who)
    return jsonify(tokens=[t.as_dict() for t in found])


@bp.post("")
def create_token():
    """`{"name", "scope"?, "expires_in_days"?, "user"? (admin)}` → 201 with the secret, once."""
    body: dict[str, Any] = require_object(read_json_body())
    owner = body.get("user", g.user)
    if owner != g.user and not _is_admin():
        return json_error(403, "Only an admin may make a token for another user")
    if not isinstance(owner, str) or owner not in users().list():
        raise TokenNotFound(f"No user {str(owner)[:64]!r}")
    days = body.get("expires_in_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)):
        raise TokenError("'expires_in_days' must be a number of days")
    secret, token = tokens().create(owner, str(body.get("name", "")), str(body.get("scope", "predict")),
                                    days, created_by=g.user)
    return jsonify(token=secret, **token.as_dict()), 201


@bp.delete("/<token_id>")
def revoke_token(token_id: str):
    """Revoke a token (an admin: anyone's); every worker refuses it within TOKEN_POLL_SECONDS."""
    return jsonify(tokens().revoke(token_id, None if _is_admin() else g.user).as_dict())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

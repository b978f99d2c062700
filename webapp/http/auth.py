"""HTTP basic auth for the APIs (flask-httpauth), with roles, lockout and JSON error bodies."""

from __future__ import annotations

from flask import g, request
from flask_httpauth import HTTPBasicAuth

from webapp.extensions import users
from webapp.http.errors import json_error

auth = HTTPBasicAuth(realm="Podium")


@auth.verify_password
def verify_password(username: str, password: str) -> str | None:
    role, wait = users().authenticate(username, password, request.remote_addr or "-")
    if wait:
        g.auth_retry_after = int(wait)
    if role is None:
        return None
    g.user, g.role = username, role
    return username


@auth.get_user_roles
def get_user_roles(username: str) -> list[str]:
    return [g.get("role", "user")]


@auth.error_handler
def auth_error(status: int):
    retry = g.pop("auth_retry_after", None)
    if retry:
        return json_error(429, "Too many failed logins; try again later",
                          {"Retry-After": str(retry)})
    if status == 403:
        return json_error(403, "This needs the admin role")
    return json_error(401, "Authentication required: use HTTP basic auth")

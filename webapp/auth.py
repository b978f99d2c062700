"""HTTP basic auth for the APIs (flask-httpauth), with roles, lockout and JSON error bodies."""

from __future__ import annotations

import sys

from flask import Flask, current_app, g, request
from flask_httpauth import HTTPBasicAuth

from .errors import json_error
from .users import UserStore

auth = HTTPBasicAuth(realm="Podium")


def users() -> UserStore:
    return current_app.extensions["podium.users"]


@auth.verify_password
def verify_password(username: str, password: str) -> str | None:
    if not username:
        return None
    store = users()
    client = request.remote_addr or "-"
    wait = store.locked_out(username, client)
    if wait:
        g.auth_retry_after = int(wait)
        return None
    role = store.verify(username, password)
    if role is None:
        store.record_failure(username, client)
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


def init_auth(app: Flask) -> None:
    path = app.config["USERS_FILE"]
    store = UserStore(
        path if path.startswith("/") else f"{app.instance_path}/{path}",
        cache_seconds=float(app.config["AUTH_CACHE_SECONDS"]),
        max_failures=int(app.config["AUTH_MAX_FAILURES"]),
        lockout_window=float(app.config["AUTH_LOCKOUT_WINDOW"]),
    )
    app.extensions["podium.users"] = store
    if app.config["CREATE_ADMIN"]:
        given = _admin_password(app.config["ADMIN_PASSWORD_FILE"])
        password = store.ensure_admin(given)
        if password and given is None:
            print(
                "\n  Podium created the user 'admin' with the password:\n\n"
                f"      {password}\n\n  It is shown only this once; change it with "
                "'flask --app wsgi users passwd admin'.\n",
                file=sys.stderr,  # not stdout: scripts silence a command's stdout, never this
                flush=True,
            )
        elif password:
            print("Podium created the user 'admin' with the password in PODIUM_ADMIN_PASSWORD_FILE.",
                  file=sys.stderr, flush=True)


def _admin_password(path: str) -> str | None:
    """The first admin's password from a file (a mounted secret), one line; None when not set.

    A file, not an environment variable: the environment is readable by every process of the user
    and shown by `docker inspect`, and PODIUM_ values are parsed as JSON (a numeric password would
    become a number).
    """
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return fh.read().rstrip("\r\n")

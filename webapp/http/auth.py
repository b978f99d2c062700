"""Who may call the APIs: basic auth with a password, or an API token (as `Authorization: Bearer`,
or as the basic-auth password for clients that speak only basic auth, such as tritonclient's
`BasicAuth`); roles, token scopes, lockout, and JSON error bodies.

A token acts for its user with its scope: `read` may only read (GET), `predict` may also predict
and send feedback but never act as an admin, `admin` acts with the user's own role. A flood of
unknown tokens from one client (guesses) is locked out like bad passwords; a revoked or expired
one is simply refused. Tokens never reach a log line.
"""

from __future__ import annotations

from flask import g, request
from flask_httpauth import HTTPBasicAuth
from werkzeug.datastructures import Authorization

from webapp.accounts.tokens import looks_like_token
from webapp.extensions import tokens, users
from webapp.http import quota, ratelimit
from webapp.http.errors import json_error
from webapp.serving.telemetry.metrics import LIMITED

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
READING_POSTS = ("/api/v2/repository/index",)  # a POST that only reads (the OIP index)
TOKEN_CLIENT = "\0token"  # the lockout key's name part for bad tokens, per client address


class PodiumAuth(HTTPBasicAuth):
    """Basic auth that also reads `Authorization: Bearer <token>` as a password-only credential."""

    def get_auth(self):
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return Authorization("basic", {"username": "", "password": value.strip()})
        return super().get_auth()

    def authorize(self, role, user, auth):
        if g.get("auth_refusal"):  # a token whose scope does not cover this request
            return False
        g.auth_limited = over_limit()
        if g.auth_limited is not None:
            return False
        return super().authorize(role, user, auth)


def over_limit() -> ratelimit.Verdict | None:
    """The authenticated caller's spent rate limit or daily quota (counted in /metrics), else None;
    every API asks it after authentication, so a limit is keyed on who the caller proved to be."""
    token = g.get("token")
    token_id = token.id if token else None
    for limit in (ratelimit.check, quota.check):
        verdict = limit(g.user, token_id)
        if verdict is not None and not verdict.allowed:
            LIMITED.labels(verdict.kind).inc()
            return verdict
    return None


def limit_message(verdict: ratelimit.Verdict) -> str:
    if verdict.kind == "quota":
        return (f"Daily quota exceeded ({verdict.limit} rows or images a day for this client); "
                f"it renews in {verdict.reset_s} s")
    return (f"Rate limit exceeded ({verdict.limit} requests per window for this client); "
            f"retry in {verdict.reset_s} s")


auth = PodiumAuth(realm="Podium")


@auth.verify_password
def verify_password(username: str, password: str) -> str | None:
    if looks_like_token(password):
        return _verify_token(password)
    role, wait = users().authenticate(username, password, _client())
    if wait:
        g.auth_retry_after = int(wait)
    if role is None:
        return None
    g.user, g.role = username, role
    return username


def _verify_token(secret: str) -> str | None:
    """The token's user when it is active and its user still exists; the reason kept on `g`."""
    wait = users().locked_out(TOKEN_CLIENT, _client())
    if wait:
        g.auth_retry_after = int(wait)
        return None
    token, why = tokens().check(secret)
    role = users().role(token.user) if token else None
    if token is None or role is None:
        if why in ("unknown", "malformed"):  # a guess; a revoked or expired token is not
            users().record_failure(TOKEN_CLIENT, _client())
        g.auth_reason = f"The API token is {why or 'of a user who no longer exists'}"
        return None
    g.user, g.token = token.user, token
    g.role = role if token.scope == "admin" else "user"
    if token.scope == "read" and request.method not in SAFE_METHODS and request.path not in READING_POSTS:
        g.auth_refusal = "This token's scope is read; it may not predict or change anything"
    return token.user


def _client() -> str:
    return request.remote_addr or "-"


@auth.get_user_roles
def get_user_roles(username: str) -> list[str]:
    return [g.get("role", "user")]


@auth.error_handler
def auth_error(status: int):
    limited = g.get("auth_limited")
    if limited is not None:
        return _limited(limited)
    retry = g.pop("auth_retry_after", None)
    if retry:
        return json_error(429, "Too many failed logins; try again later",
                          {"Retry-After": str(retry)})
    if status == 403:
        return json_error(403, g.get("auth_refusal") or "This needs the admin role")
    return json_error(401, g.get("auth_reason") or
                      "Authentication required: use HTTP basic auth or an API token (Bearer)")


def _limited(verdict: ratelimit.Verdict):
    """429 for a spent rate limit or daily quota."""
    # the RateLimit-* headers are added by http/ratelimit.py
    return json_error(429, limit_message(verdict), {"Retry-After": str(verdict.reset_s)})

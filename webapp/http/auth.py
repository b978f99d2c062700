"""Who may call the APIs: basic auth with a password, or an API token (as `Authorization: Bearer`,
or as the basic-auth password for clients that speak only basic auth, such as tritonclient's
`BasicAuth`); roles, token scopes, lockout, and JSON error bodies.

A token acts for its user with its scope: `read` may only read (GET), `predict` may also predict
and send feedback but never act as an admin, `admin` acts with the user's own role. A flood of
unknown tokens from one client (guesses) is locked out like bad passwords; a revoked or expired
one is simply refused. Tokens never reach a log line.

The decorator is our own rather than flask-httpauth's: every API request passes through it, and
the library's general plumbing (werkzeug's Authorization object, callback registries, role sets,
`ensure_sync`, `make_response` on the error) cost more per request than our credential checks.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from functools import wraps

from flask import Response, g, request

from webapp.accounts.tokens import looks_like_token
from webapp.extensions import tokens, users
from webapp.http import quota, ratelimit
from webapp.http.errors import json_error
from webapp.serving.telemetry.metrics import LIMITED

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
READING_POSTS = ("/api/v2/repository/index",)  # a POST that only reads (the OIP index)
TOKEN_CLIENT = "\0token"  # the lockout key's name part for bad tokens, per client address
NO_CREDENTIALS = ("", "")


class PodiumAuth:
    """`@auth.login_required` or `@auth.login_required(role="admin")` on an API view: the caller
    proves who they are (else 401 with a challenge), then the token's scope, the caller's rate
    limit and daily quota, and the role are checked (403 or 429); `g.user`, `g.role` and `g.token`
    say who called. OPTIONS passes untouched, as CORS preflights carry no credentials."""

    def __init__(self, realm: str) -> None:
        self.challenge = f'Basic realm="{realm}"'

    def login_required(self, view: Callable | None = None, role: str | None = None) -> Callable:
        if view is None:
            return lambda view: self.login_required(view, role)

        @wraps(view)
        def guarded(*args, **kwargs):
            if request.method != "OPTIONS":
                refused = admission(role)
                if refused is not None:
                    refused.headers["WWW-Authenticate"] = self.challenge  # on every refusal
                    return refused
            return view(*args, **kwargs)
        return guarded


def admission(role: str | None) -> Response | None:
    """The refusal of this request, else None: credentials first, then what they may do."""
    if not verify_password(*credentials(request.headers.get("Authorization"))):
        retry = g.pop("auth_retry_after", None)
        if retry:
            return json_error(429, "Too many failed logins; try again later", {"Retry-After": str(retry)})
        return json_error(401, g.get("auth_reason") or
                          "Authentication required: use HTTP basic auth or an API token (Bearer)")
    refusal = g.get("auth_refusal")  # a token whose scope does not cover this request
    if refusal:
        return json_error(403, refusal)
    verdict = over_limit()
    if verdict is not None:  # the RateLimit-* headers are added by http/ratelimit.py
        return json_error(429, limit_message(verdict), {"Retry-After": str(verdict.reset_s)})
    if role is not None and g.role != role:
        return json_error(403, "This needs the admin role")
    return None


def credentials(header: str | None) -> tuple[str, str]:
    """(name, password) from `Basic base64(name:password)`, ("", token) from `Bearer <token>`, and
    ("", "") when absent or malformed, which no user matches: a garbled header is a 401, not a 500.
    Names and passwords are UTF-8 (latin-1 when not, as some clients send)."""
    if not header:
        return NO_CREDENTIALS
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return "", value.strip()
    if scheme != "basic":
        return NO_CREDENTIALS
    try:
        decoded = binascii.a2b_base64(value.strip(), strict_mode=True)  # only the alphabet
    except ValueError:  # bad base64 (binascii.Error) or a non-ASCII character
        return NO_CREDENTIALS
    name, colon, password = decoded.partition(b":")
    if not colon:
        return NO_CREDENTIALS
    try:
        return name.decode(), password.decode()
    except UnicodeDecodeError:
        return name.decode("latin-1"), password.decode("latin-1")


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


def verify_password(username: str, password: str) -> str | None:
    """The caller's name when the password or token is right (who and what it may do set on `g`);
    the reason for a refusal, or the lockout's wait, kept on `g`. The OpenAI API asks it too."""
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


auth = PodiumAuth(realm="Podium")

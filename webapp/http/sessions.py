"""The session cookie, at no cost to a request that sends none and touches none (every API call).

Flask opens every request's session by building a signing serializer from the secret key (about
20 µs here, more than the whole model call for a small model) and works out six cookie settings
on the way out, even when no Cookie header came and nothing read the session. The answers stay
the same: without a cookie the session is empty, and an empty session nobody touched sets no
cookie and adds no `Vary: Cookie`.
"""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, skipping the work when there is nothing to read or write."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session or session.accessed or session.modified:
            super().save_session(app, session, response)

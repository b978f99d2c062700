"""The HTML pages. Each area is a blueprint; pages call the same service as the APIs."""

from __future__ import annotations

from flask import Flask


def init_pages(app: Flask) -> None:
    """Register the page blueprints and CSRF protection (pages only)."""
    from webapp.pages import access, admin, apidocs, batch, chat, home, kinds, models, monitoring, ops, tokens

    # CSRF is checked by each page blueprint (access.check_post), never on /api/ routes,
    # which use basic auth and JSON; Flask-WTF only provides the token and its check.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # the token is bound to the session; no extra expiry, so a page left open still submits
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    access.csrf.init_app(app)
    for module in (home, access, models, kinds, chat, batch, monitoring, ops, admin, apidocs, tokens):
        app.register_blueprint(module.bp)

    if not app.testing:  # one snapshot writer per worker process (tests call the page instead)
        app.before_request(lambda: ops.start_snapshots(app))

    @app.context_processor
    def page_globals() -> dict:
        return {"current_user": access.current_user}

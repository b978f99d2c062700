"""Podium: one Flask app serving Keras and scikit-learn models to pages, APIs and ops."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from webapp.config import DEFAULTS, secret_key
from webapp.http.application import PodiumFlask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instance_folder(test_config: dict[str, Any] | None) -> str | None:
    """PODIUM_INSTANCE_PATH (or a test's INSTANCE_PATH): where the secret key, the users file, the
    workers' snapshots and the SQLite log live. Unset: Flask's `instance/` beside the code, shared by
    every process started from this checkout."""
    chosen = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("PODIUM_INSTANCE_PATH")
    return os.path.abspath(chosen) if chosen else None


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Wire the app: config → logging → service → auth → errors → blueprints → CLI."""
    app = PodiumFlask(__name__, instance_relative_config=True, instance_path=instance_folder(test_config),
                template_folder=os.path.join(ROOT, "templates"), static_folder=os.path.join(ROOT, "static"))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("PODIUM")
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["INSTANCE_PATH"] = app.instance_path
    app.config["SECRET_KEY"] = secret_key(app.config, app.instance_path)

    from webapp.accounts.first_admin import create_first_admin
    from webapp.extensions import init_extensions, users
    from webapp.http.jsonio import OrjsonProvider
    from webapp.http.limits import init_body_limits
    from webapp.http.security import init_proxy_fix
    from webapp.http.sessions import CookieSessions
    from webapp.logs import configure_logging, init_request_ids

    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.json = OrjsonProvider(app)
    app.session_interface = CookieSessions()
    init_proxy_fix(app)
    init_request_ids(app)
    init_body_limits(app)
    init_extensions(app)
    if app.config["CREATE_ADMIN"]:
        with app.app_context():
            create_first_admin(users(), app.config["ADMIN_PASSWORD_FILE"])
    _register_request_hooks(app)
    _register_surfaces(app)
    return app


def _register_request_hooks(app: Flask) -> None:
    """What runs around every request, in order: errors, metrics, timing, limits, quotas, headers."""
    from webapp.http.errors import register_error_handlers
    from webapp.http.metrics import init_metrics
    from webapp.http.quota import init_quotas
    from webapp.http.ratelimit import init_rate_limits
    from webapp.http.security import init_security_headers
    from webapp.http.timing import init_timing

    register_error_handlers(app)
    init_metrics(app)
    init_timing(app)
    init_rate_limits(app)
    init_quotas(app)
    init_security_headers(app)


def _register_surfaces(app: Flask) -> None:
    """The probes, both APIs, OpenAI's chat API, the lifecycle API, the tokens API, the pages and the
    `flask` commands."""
    from webapp.api import lifecycle, openai, openapi, tokens, v1, v2
    from webapp.cli import register_cli
    from webapp.http import probes
    from webapp.pages import init_pages

    app.register_blueprint(probes.bp)
    v1.init_app(app)
    v2.init_app(app)
    openai.init_app(app)
    lifecycle.init_app(app)
    tokens.init_app(app)
    openapi.init_app(app)
    init_pages(app)
    register_cli(app)

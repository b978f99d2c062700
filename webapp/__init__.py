"""Podium: one Flask app serving Keras and scikit-learn models to pages, APIs and ops."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import DEFAULTS


class OrjsonProvider(DefaultJSONProvider):
    """jsonify through orjson: several times faster, and numpy arrays need no conversion."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        from .api.common import dumps

        return dumps(obj).decode()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Wire the app: config → logging → service → auth → errors → blueprints → CLI."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(__name__, instance_relative_config=True,
                template_folder=os.path.join(root, "templates"),
                static_folder=os.path.join(root, "static"))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("PODIUM")
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    _secret_key(app)

    from .logs import configure_logging, init_request_ids

    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.json = OrjsonProvider(app)
    _proxy_fix(app)
    init_request_ids(app)
    _service(app)

    from .auth import init_auth
    from .errors import register_error_handlers

    init_auth(app)
    register_error_handlers(app)
    from .metrics import init_metrics

    init_metrics(app)
    _security_headers(app)

    from . import ops
    from .api import lifecycle, openapi, v1, v2
    from .pages import init_pages

    app.register_blueprint(ops.bp)
    v1.init_app(app)
    v2.init_app(app)
    lifecycle.init_app(app)
    openapi.init_app(app)
    init_pages(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _secret_key(app: Flask) -> None:
    """SECRET_KEY from the environment, else from a 0600 file made once in the instance folder."""
    if app.config.get("SECRET_KEY"):
        return
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        # workers start together: write a whole file aside, then link it into place (atomic, and
        # refused when another process won), so no worker ever reads a half-written key
        fd, tmp = tempfile.mkstemp(prefix=".secret_key-", dir=app.instance_path)  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    with open(path, encoding="ascii") as fh:
        app.config["SECRET_KEY"] = fh.read().strip()


def _proxy_fix(app: Flask) -> None:
    counts = {k: int(app.config[f"PROXY_FIX_{k.upper()}"]) for k in ("for", "proto", "host", "prefix")}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=counts["for"], x_proto=counts["proto"],
                                x_host=counts["host"], x_prefix=counts["prefix"])


def _service(app: Flask) -> None:
    from .serving.lifecycle import Lifecycle
    from .serving.publishing import TrialLimits
    from .serving.runtimes.skops_types import parse_extension
    from .serving.scheduler import Policy
    from .serving.service import ModelService, ServingOptions

    threads = int(app.config["FRAMEWORK_THREADS"]) or max(1, (os.cpu_count() or 1))
    options = ServingOptions(
        poll_interval=float(app.config["POLL_INTERVAL"]),
        trusted_models=frozenset(app.config["TRUSTED_MODELS"]),
        trusted_types=parse_extension(app.config["TRUSTED_TYPES"]),
        trial=TrialLimits(timeout=float(app.config["TRIAL_TIMEOUT"]),
                          memory_bytes=int(app.config["TRIAL_MEMORY_MB"]) * 1024**2,
                          cpu_seconds=int(app.config["TRIAL_CPU_SECONDS"])),
        max_batch_rows=int(app.config["MAX_BATCH_ROWS"]),
        max_image_pixels=int(app.config["MAX_IMAGE_PIXELS"]),
        framework_threads=threads,
        accelerate=bool(app.config["ACCELERATE"]),
        accelerate_timeout=float(app.config["ACCELERATE_TIMEOUT"]),
        policy=Policy(max_batch_size=int(app.config["BATCH_MAX_SIZE"]),
                      max_delay_ms=float(app.config["BATCH_MAX_DELAY_MS"]),
                      max_queue=int(app.config["MAX_QUEUE"]),
                      deadline_s=float(app.config["REQUEST_DEADLINE"]),
                      cache_size=int(app.config["PREDICTION_CACHE_SIZE"])),
    )
    service = ModelService(app.config["MODEL_STORE"], options)
    app.extensions["podium.service"] = service
    app.extensions["podium.lifecycle"] = Lifecycle(service)

    @app.before_request
    def start_loading() -> None:
        # gunicorn starts it in post_worker_init; any other server on its first request
        if app.config["BACKGROUND_LOADING"]:
            service.start()


def _security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
        return response

"""OpenAI's chat-completions API as KServe mounts it (`/openai/v1`); the wire format lives in `codec`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)

"""`/api/v1`: TensorFlow Serving's REST API (status, metadata, predict, classify, regress), and
Podium's `:feedback` for ground truth.

Plain Flask views on one blueprint (`views.py`); the blueprint's error handlers word the core's
errors as TF Serving does. Werkzeug's errors (404, 405 with Allow, 413) and anything unexpected
(logged, a generic 500) fall through to the app's handlers, which answer JSON under /api.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from .views import bp


class ModelNameConverter(BaseConverter):
    """A model name segment: anything but '/' and ':' (validated against the store later)."""

    regex = r"[^/:]+"


def init_app(app: Flask) -> None:
    # the blueprint's rules name the converter: the app's map must know it before they are added
    app.url_map.converters["model"] = ModelNameConverter
    app.register_blueprint(bp)

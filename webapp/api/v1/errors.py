"""The core's errors in TF Serving's words (`http_rest_api_handler.cc`), for clients that match them."""

from __future__ import annotations

from webapp.serving.errors import ModelNotFound, ServingError
from webapp.serving.models.versions import InvalidVersion


def tf_message(exc: ServingError) -> str:
    if isinstance(exc, ModelNotFound):
        if exc.label is not None:
            return f"Servable not found for request: Label({exc.name}, {exc.label})"
        if exc.version is not None:
            return f"Servable not found for request: Specific({exc.name}, {exc.version})"
        return f"Servable not found for request: Latest({exc.name})"
    if isinstance(exc, InvalidVersion):
        return f"Failed to convert version: {exc.text!r} is not a positive integer"
    return exc.message

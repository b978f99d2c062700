"""Request body limits: PODIUM_MAX_CONTENT_LENGTH everywhere, a larger one where a version is
published (an artifact is bigger than any prediction request). nginx's configuration has the same
two limits on the same routes (deploy/nginx/podium.conf)."""

from __future__ import annotations

from flask import Flask, current_app, request

# the API's publish and the admin page's publish form
PUBLISH_ENDPOINTS = frozenset({"api_lifecycle.publish", "admin.publish"})


def init_body_limits(app: Flask) -> None:
    """Raise the limit before anything reads the body: the app's own before_request functions run
    before any blueprint's (the pages' CSRF check reads the form)."""
    app.before_request(_publish_limit)


def _publish_limit() -> None:
    if request.endpoint in PUBLISH_ENDPOINTS:
        request.max_content_length = int(current_app.config["PUBLISH_MAX_CONTENT_LENGTH"])

"""Logging set up once before the app exists: text or JSON lines, each with the request id.

Every request gets Podium's own id, unique and unguessable (what the prediction log and feedback
name, returned in `X-Podium-Request-ID`); a caller's well-formed `X-Request-ID` is kept beside it
as the client id, and echoed in `X-Request-ID` (Podium's id when the caller sent none).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


PODIUM_HEADER = "X-Podium-Request-ID"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        inside = has_request_context()
        record.request_id = g.get("request_id", "-") if inside else "-"
        record.client_request_id = (g.get("client_request_id") or "-") if inside else "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-"),
                 "client_request_id": getattr(record, "client_request_id", "-")}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    formatter = ({"()": JsonFormatter} if fmt == "json" else
                 {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s %(request_id)s: %(message)s"})
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "filters": ["request_id"]}},
        "loggers": {"webapp": {"level": level, "handlers": ["stderr"], "propagate": False}},
    })


def client_request_id() -> str | None:
    """The caller's own X-Request-ID when it is well formed (1-128 of A-Z a-z 0-9 . _ : -)."""
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID_RE.match(given) else None


def init_request_ids(app: Flask) -> None:
    """Make Podium's id for each request, keep the caller's; both go back on every response."""

    @app.before_request
    def take_request_id() -> None:
        g.request_id = secrets.token_hex(16)  # as unguessable as a uuid4, at a third of its cost
        g.client_request_id = client_request_id()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        own = g.get("request_id", "")
        # only this hook writes them: appending is the same as replacing, without a search
        response.headers.add(PODIUM_HEADER, own)
        response.headers.add("X-Request-ID", g.get("client_request_id") or own)
        return response

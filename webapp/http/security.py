"""What every answer carries for safety, and trusting a proxy's X-Forwarded-* only when configured."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def init_proxy_fix(app: Flask) -> None:
    counts = {k: int(app.config[f"PROXY_FIX_{k.upper()}"]) for k in ("for", "proto", "host", "prefix")}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=counts["for"], x_proto=counts["proto"],  # type: ignore[method-assign]
                                x_host=counts["host"], x_prefix=counts["prefix"])


SAFETY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                  ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", CSP))


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        # a view's own value wins; one look at the headers instead of a search per name (each
        # `setdefault` walks the whole list twice, on every answer)
        headers = response.headers
        present = {key.lower() for key, _ in headers}
        for key, value in SAFETY_HEADERS:
            if key.lower() not in present:
                headers.add(key, value)
        return response

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


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", CSP)
        return response

"""The manifest's `chat.upstream` section: where to forward, with which key variable, within what time.

The key's variable must be named `PODIUM_UPSTREAM_KEY` or `PODIUM_UPSTREAM_KEY_<SUFFIX>`, so a
manifest cannot send another secret of the server's environment (the secret key, a database
password) to the address it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webapp.serving.errors import InvalidInput

KEY_ENV = re.compile(r"^PODIUM_UPSTREAM_KEY(_[A-Z0-9_]+)?$")
LIMITS = {"connect_timeout": (0.1, 60.0), "read_timeout": (0.1, 600.0), "total_timeout": (0.1, 3600.0)}


@dataclass(frozen=True)
class UpstreamSettings:
    base_url: str  # up to and including the API version: "http://10.0.0.5:8000/v1"
    model: str  # the upstream's model name
    api_key_env: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 60.0  # the longest silence between two reads
    total_timeout: float = 300.0  # the longest a whole answer or stream may take
    max_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_manifest(cls, section: Any) -> UpstreamSettings:
        """Check the section; raises InvalidInput naming the first problem."""
        if not isinstance(section, dict):
            raise InvalidInput("Invalid manifest: an upstream chat needs a 'chat.upstream' object")
        base_url = _base_url(section.get("base_url"))
        model = section.get("model")
        if not isinstance(model, str) or not model or len(model) > 256:
            raise InvalidInput("Invalid manifest: chat.upstream.model must name the upstream's model")
        key_env = section.get("api_key_env")
        if key_env is not None and (not isinstance(key_env, str) or not KEY_ENV.match(key_env)):
            raise InvalidInput("Invalid manifest: chat.upstream.api_key_env must be PODIUM_UPSTREAM_KEY "
                               "or start with PODIUM_UPSTREAM_KEY_")
        timeouts = {name: _seconds(section, name, default, *LIMITS[name])
                    for name, default in (("connect_timeout", 3.0), ("read_timeout", 60.0),
                                          ("total_timeout", 300.0))}
        return cls(base_url, model, key_env, **timeouts)


def _base_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("Invalid manifest: chat.upstream.base_url must be an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidInput("Invalid manifest: chat.upstream.base_url may not hold credentials, "
                           "a query or a fragment (the key comes from api_key_env)")
    return value.rstrip("/")


def _seconds(section: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"Invalid manifest: chat.upstream.{name} must be {low:g} to {high:g} seconds")
    return float(value)

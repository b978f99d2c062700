"""Per-client rate limits for the APIs: each user or token gets its own moving window.

Checked right after authentication (`http/auth.py`), so the key is who the caller proved to be:
`token:<id>` for a token, `user:<name>` for a password; probes and `/metrics` need no credentials
and are never limited. `RATE_LIMIT` is the default (the `limits` notation, `;`-separated: e.g.
`20/second;200/10 seconds` is 20 a second with bursts up to 200 in any ten seconds), `RATE_LIMITS`
overrides it per user or token (`{"bob": "5/second", "token:5f1c0a9e2b7d": "1/second"}`). Counts
live in memory unless `RATE_LIMIT_STORAGE_URL` names a Redis (`redis://host:6379/0`), which every
worker and instance then shares, so N instances enforce one limit. Memory is each worker's own: a
client spread over W workers gets up to W times its limit, and a recycled worker starts from zero,
so a server that starts more than one worker with memory counts says so in its log. While the
Redis does not answer, requests are served unlimited (a limit protects capacity; refusing every
client because a counter is away would take the whole API down): logged once a minute per worker.
Uses `limits`, the library Flask-Limiter is built on, directly: Flask-Limiter checks before the
request is authenticated, and a limit keyed on an unverified name would let anyone spend another
user's allowance.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from webapp.http.limit_counts import open_counts

KEY = "podium.ratelimits"
STORAGE_KEY = "podium.limit_counts"
log = logging.getLogger(__name__)
_last_outage_log = float("-inf")


@dataclass(frozen=True)
class Verdict:
    """The tightest limit's figures after this request: for the RateLimit-* headers and a 429."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window frees a request
    kind: str = "rate"  # "rate" (requests per window) or "quota" (rows per day, quota.py)


class RateLimits:
    def __init__(self, default: str, overrides: dict[str, str], storage: Storage) -> None:
        self.default = parse_many(default) if default else []
        self.overrides = {str(k): parse_many(v) for k, v in overrides.items() if v}
        self.window = MovingWindowRateLimiter(storage)

    def limits_for(self, keys: tuple[str, ...]) -> list[RateLimitItem]:
        for key in keys:
            if key in self.overrides:
                return self.overrides[key]
        return self.default

    def hit(self, keys: tuple[str, ...]) -> Verdict | None:
        """Count one request for the first key; None when no limit applies."""
        limits = self.limits_for(keys)
        if not limits:
            return None
        now, verdicts = time.time(), []
        for item in limits:
            allowed = self.window.hit(item, "podium", keys[0])
            reset, remaining = self.window.get_window_stats(item, "podium", keys[0])
            verdicts.append(Verdict(allowed, item.amount, remaining, max(1, math.ceil(reset - now))))
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            return max(refused, key=lambda v: v.reset_s)
        return min(verdicts, key=lambda v: v.remaining)


def caller_keys(user: str, token_id: str | None) -> tuple[str, ...]:
    """The keys a caller is counted and configured under, most specific first."""
    return (f"token:{token_id}", user) if token_id else (f"user:{user}", user)


def check(user: str, token_id: str | None) -> Verdict | None:
    """Count this request against the caller's limit; the verdict is kept for the headers."""
    limits: RateLimits | None = current_app.extensions.get(KEY)
    if limits is None:
        return None
    try:
        verdict = limits.hit(caller_keys(user, token_id))
    except StorageError as error:
        counts_unavailable(error)
        return None
    g.rate_verdict = verdict
    return verdict


def counts_unavailable(error: StorageError) -> None:
    """Say (at most once a minute per worker) that limits and quotas are not enforced just now."""
    global _last_outage_log
    if time.monotonic() - _last_outage_log >= 60:
        _last_outage_log = time.monotonic()
        log.warning("Rate limits and quotas are not enforced: their storage does not answer (%s)",
                    error.storage_error)


def headers(verdict: Verdict) -> dict[str, str]:
    return {"RateLimit-Limit": str(verdict.limit), "RateLimit-Remaining": str(verdict.remaining),
            "RateLimit-Reset": str(verdict.reset_s)}


def counts_storage(app: Flask) -> Storage:
    """The one place this worker keeps its rate-limit and quota counts (made on first use)."""
    if STORAGE_KEY not in app.extensions:
        url = app.config["RATE_LIMIT_STORAGE_URL"] or "memory://"
        app.extensions[STORAGE_KEY] = open_counts(url, wrap_exceptions=True)
        workers = int(app.config["SERVER_WORKERS"] or 0)
        if url.startswith("memory") and workers > 1:
            log.warning("Rate limits and quotas are counted in each worker's memory: with %d workers a "
                        "client may get up to %d times its limit, and a recycled worker starts from zero. "
                        "Set PODIUM_RATE_LIMIT_STORAGE_URL to a Redis to count once for all workers "
                        "and instances.", workers, workers)
    return app.extensions[STORAGE_KEY]


def init_rate_limits(app: Flask) -> None:
    """Build the limits from config (none when RATE_LIMIT and RATE_LIMITS are empty)."""
    config = app.config
    overrides: dict[str, Any] = dict(config["RATE_LIMITS"] or {})
    if not config["RATE_LIMIT"] and not overrides:
        return
    app.extensions[KEY] = RateLimits(config["RATE_LIMIT"], overrides, counts_storage(app))

    @app.after_request
    def add_headers(response: Response) -> Response:
        verdict = g.get("rate_verdict")
        if verdict is not None:
            response.headers.extend(headers(verdict))
        return response

"""Daily quotas of rows or images per client (user or token), beside the per-second rate limits.

`QUOTA_ROWS_PER_DAY` is the default (0: none), `QUOTAS` overrides it per user name or
`token:<id>` (`{"bob": 1000, "token:5f1c0a9e2b7d": 50}`, 0 for none). A request is refused (429,
Retry-After until the day's window ends) once the client's rows are spent; the rows of an answer
are counted after it, so the last request of a day may take the count past the quota by its own
rows. The window is a fixed day from the client's first counted row. Counts live where the rate
limits' do: per worker in memory, or the Redis of `RATE_LIMIT_STORAGE_URL`, shared by every
worker and instance. A client's count is kept under a key that does not hold its quota, so an
operator who raises (or lowers) a quota and restarts gives the client the difference for the rest
of its day, not a fresh day (in Redis; memory counts start from zero with the worker).
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, current_app, g
from limits.errors import StorageError
from limits.storage import Storage

from webapp.http.ratelimit import KEY as RATE_KEY
from webapp.http.ratelimit import Verdict, caller_keys, counts_storage, counts_unavailable

KEY = "podium.quotas"
NAMESPACE = "podium-quota"
DAY = 86400


class Quotas:
    def __init__(self, default: int, overrides: dict[str, int], storage: Storage) -> None:
        self.default = int(default or 0)
        self.overrides = {str(k): int(v or 0) for k, v in overrides.items()}
        self.storage = storage

    def quota_for(self, keys: tuple[str, ...]) -> int:
        for key in keys:
            if key in self.overrides:
                return self.overrides[key]
        return self.default

    def left(self, keys: tuple[str, ...]) -> Verdict | None:
        """The client's day so far; None when it has no quota."""
        quota = self.quota_for(keys)
        if quota <= 0:
            return None
        day = _day_key(keys)
        used = self.storage.get(day)
        wait = max(1, math.ceil(self.storage.get_expiry(day) - time.time())) if used else DAY
        return Verdict(used < quota, quota, max(0, quota - used), wait, kind="quota")

    def spend(self, keys: tuple[str, ...], rows: int) -> None:
        if self.quota_for(keys) > 0 and rows > 0:
            self.storage.incr(_day_key(keys), DAY, amount=rows)  # the first row starts the day


def _day_key(keys: tuple[str, ...]) -> str:
    return f"{NAMESPACE}/{keys[0]}/day"


def quotas() -> Quotas | None:
    return current_app.extensions.get(KEY)


def check(user: str, token_id: str | None) -> Verdict | None:
    """The caller's quota before its request; its keys are kept so the answer's rows are spent."""
    counted = quotas()
    if counted is None:
        return None
    keys = caller_keys(user, token_id)
    try:
        verdict = counted.left(keys)
    except StorageError as error:  # served uncounted, as the rate limits are (ratelimit.py)
        counts_unavailable(error)
        return None
    if verdict is not None:
        g.quota_keys = keys
    return verdict


def spend(rows: int) -> None:
    """Count an answer's rows (or images) against the caller's quota, if it has one."""
    keys = g.get("quota_keys")
    if keys is not None:
        try:
            quotas().spend(keys, rows)
        except StorageError as error:
            counts_unavailable(error)


def init_quotas(app: Flask) -> None:
    """Build the quotas from config (none when QUOTA_ROWS_PER_DAY and QUOTAS are empty)."""
    config = app.config
    overrides = dict(config["QUOTAS"] or {})
    if not config["QUOTA_ROWS_PER_DAY"] and not overrides:
        return
    app.extensions[KEY] = Quotas(config["QUOTA_ROWS_PER_DAY"], overrides, counts_storage(app))


def usage(names: list[str]) -> list[dict[str, Any]]:
    """Each user's rate limit and daily quota with their use so far (password calls; a token has
    its own counts), for the admin page. Empty when neither is configured; the use is left blank
    while the counts' storage does not answer."""
    limits, counted = current_app.extensions.get(RATE_KEY), quotas()
    if limits is None and counted is None:
        return []
    rows = []
    for name in names:
        keys = caller_keys(name, None)
        items = limits.limits_for(keys) if limits else []
        row: dict[str, Any] = {"user": name, "rate": "; ".join(str(item) for item in items),
                               "rate_remaining": None, "quota": counted.quota_for(keys) if counted else 0,
                               "quota_used": None}
        try:
            if items:
                stats = (limits.window.get_window_stats(item, "podium", keys[0]) for item in items)
                row["rate_remaining"] = min(remaining for _reset, remaining in stats)
            day = counted.left(keys) if counted else None
            if day is not None:
                row["quota_used"] = day.limit - day.remaining
        except StorageError as error:
            counts_unavailable(error)
        rows.append(row)
    return rows

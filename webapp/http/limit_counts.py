"""Where rate-limit and quota counts live: a `limits` storage URL (Redis), or this worker's memory.

`limits`' own memory storage expires old entries in a `threading.Timer` that it starts again,
from the counting thread, whenever the previous one has ended: under steady traffic that is a
thread start about every 10 ms on the request path, each waiting for the new thread to run (about
0.4 ms here, several times a whole small-model request). Expiry only bounds memory (every check
compares its own timestamps), so the storage here sweeps on the counting thread instead, at most
once per `SWEEP_EVERY` seconds, and counts exactly as the original does.
"""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage, Storage, storage_from_string

SWEEP_EVERY = 1.0


class SweptMemoryStorage(MemoryStorage):
    """limits' MemoryStorage with old entries swept inline, at most once a second, by one thread."""

    def __init__(self, uri: str | None = None, **options: object) -> None:
        self._sweep_at = 0.0
        self._sweeping = threading.Lock()
        super().__init__(uri, **options)  # type: ignore[arg-type]

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the name limits' own calls use
        now = time.monotonic()
        if now < self._sweep_at or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._sweep_at = now + SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweeping.release()


def open_counts(url: str, **options: object) -> Storage:
    """The storage for `RATE_LIMIT_STORAGE_URL`: this worker's memory when empty or `memory://`."""
    if not url or url.startswith("memory://"):
        return SweptMemoryStorage(url or "memory://", **options)
    return storage_from_string(url, **options)  # type: ignore[arg-type]

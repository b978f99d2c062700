"""A bounded keep-alive client load that counts every failed request and which worker answered.

Each thread keeps one `requests.Session` (one kept-alive connection at a time, as an API client or a
proxy's upstream pool does) and alternates a prediction with `/api/stats`, whose answer names the
worker process. Nothing is retried: a reset connection, a refused one or any non-200 answer is a
lost request.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass
class LoadResult:
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    pids: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failed: list[tuple[float, float]] = field(default_factory=list)  # (sent, failed) monotonic times
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, seconds: float, pid: int | None = None, error: str | None = None,
               sent: float = 0.0) -> None:
        with self._lock:
            if error is None:
                self.ok += 1
                self.latencies.append(seconds)
                if pid is not None:
                    self.pids[pid] += 1
            else:
                self.errors.append(error)
                self.failed.append((sent, sent + seconds))

    def spread(self) -> float:
        """Share of the answers that the busiest worker gave (1/workers is even; 1.0 is all on one)."""
        total = sum(self.pids.values())
        return max(self.pids.values()) / total if total else 0.0

    def summary(self) -> str:
        return (f"ok={self.ok} lost={len(self.errors)} workers={dict(self.pids)} "
                f"busiest={self.spread():.2f} first errors={self.errors[:3]}")


def _one(session: requests.Session, url: str, n: int) -> tuple[int | None, str | None]:
    """One request; (pid, None) when it succeeded, (None, reason) when it did not."""
    try:
        if n % 2:
            r = session.post(f"{url}/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                             timeout=15)
        else:
            r = session.get(f"{url}/api/stats", timeout=15)
    except requests.RequestException as exc:
        return None, type(exc).__name__ + ": " + str(exc)[:160]
    if r.status_code != 200:
        return None, f"{r.status_code} {r.text[:160]}"
    return (r.json()["process"]["pid"] if n % 2 == 0 else None), None


def run_load(url: str, auth: tuple[str, str], seconds: float, threads: int = 4,
             during: Callable[[], None] | None = None, pause: float = 0.0) -> LoadResult:
    """Keep `threads` keep-alive clients busy for `seconds`, calling `during()` meanwhile; each
    client waits `pause` seconds between requests (behind nginx: its per-address rate limit)."""
    result = LoadResult()
    stop = threading.Event()

    def client() -> None:
        with requests.Session() as session:
            session.auth = auth
            n = 0
            while not stop.is_set():
                start = time.monotonic()
                pid, error = _one(session, url, n)
                result.record(time.monotonic() - start, pid, error, start)
                n += 1
                if pause:
                    time.sleep(pause)

    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    started = time.monotonic()
    if during is not None:
        during()
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    stop.set()
    for thread in workers:
        thread.join(timeout=30)
    return result

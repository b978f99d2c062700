"""The background job: drift and quality for every model on a schedule, on demand, and retention.

Every worker may start one; with a lock file only the worker holding the lock runs the scheduled
rounds (the others stand by and take over if it dies), so N workers do not compute N times. The
results land in the database, where every worker reads them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .database import describe_error
from .monitor import Monitor
from .retention import prune

log = logging.getLogger(__name__)
Listener = Callable[[str, dict[str, Any]], None]


class MonitorJob:
    """Runs `monitor.compute` for each model every `interval_s` seconds in a daemon thread."""

    def __init__(self, monitor: Monitor, models: Callable[[], list[str]], interval_s: float = 60.0,
                 lock_path: str | Path | None = None, retention: dict[str, Any] | None = None,
                 listeners: list[Listener] | None = None,
                 after_round: list[Callable[[], None]] | None = None) -> None:
        self.monitor, self.models, self.interval_s = monitor, models, interval_s
        self.lock_path = Path(lock_path) if lock_path else None
        self.retention = retention or {}  # {"max_age_s": ..., "max_rows": ...}
        self.listeners = list(listeners or [])  # called with (model, summary) after each model
        self.after_round = list(after_round or [])  # called after each full round (process alerts)
        self.errors: dict[str, str] = {}
        self.last_run: float | None = None
        self._wake, self._stop = threading.Event(), threading.Event()
        self._run_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: set[str] = set()
        self._lock_fd: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="podium-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def request(self, model: str | None = None) -> None:
        """Ask for a round soon (every model, or one), without waiting for it (a page's button).

        The worker that hears the request computes it even when another worker holds the
        schedule, so an on-demand round never waits for the next scheduled one.
        """
        with self._pending_lock:
            self._pending.add(model or "*")
        self._wake.set()

    def _take_pending(self) -> set[str]:
        with self._pending_lock:
            pending, self._pending = self._pending, set()
        return pending

    def run_once(self, model: str | None = None) -> dict[str, dict[str, Any]]:
        """Compute now on the calling thread (CLI, tests); returns the summaries by model."""
        with self._run_lock:
            names = [model] if model else self.models()
            done = {}
            for name in names:
                summary = self._compute(name)
                if summary is not None:
                    done[name] = summary
            if model is None and self.retention:
                self._prune()
            if model is None:
                for hook in self.after_round:
                    try:
                        hook()
                    except Exception:
                        log.exception("A monitoring round hook failed")
            self.last_run = time.time()
            return done

    def _compute(self, name: str) -> dict[str, Any] | None:
        try:
            summary = self.monitor.compute(name)
        except sa.exc.SQLAlchemyError as exc:  # the database is down: one line, not a traceback
            self.errors[name] = describe_error(exc)
            log.warning("Monitoring %s skipped: %s", name, self.errors[name])
            return None
        except Exception as exc:  # one model's failure must not stop the others
            log.exception("Monitoring %s failed", name)
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            return None
        self.errors.pop(name, None)
        for listener in self.listeners:
            try:
                listener(name, summary)
            except Exception:
                log.exception("A monitoring listener failed on %s", name)
        return summary

    def _prune(self) -> None:
        try:
            deleted = prune(self.monitor.db, self.retention.get("max_age_s"), self.retention.get("max_rows"))
        except Exception as exc:
            self.errors["retention"] = str(exc)
            return
        self.errors.pop("retention", None)
        if any(deleted.values()):
            log.info("Prediction log retention deleted %s", deleted)

    def _leader(self) -> bool:
        if self.lock_path is None or self._lock_fd is not None:
            return True
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            pending = self._take_pending()
            try:
                if "*" in pending or self._leader():
                    self.run_once()
                else:
                    for model in sorted(pending):
                        self.run_once(model)
            except Exception:  # keep the schedule whatever one round hit
                log.exception("A monitoring round failed")

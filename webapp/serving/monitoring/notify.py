"""Optional webhook notifier: Slack-compatible JSON (`{"text": ...}`) when alerts fire and resolve.

`update(scope, alerts)` diffs the alerts a scope (a model, or "process") raises now against what it
raised before: new ones are sent as FIRING, vanished ones as RESOLVED, ones still firing again only
after `repeat_s` (de-duplication). Messages go through a bounded queue to a daemon thread that
retries with exponential backoff; nothing here ever blocks the caller.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .alerts import Alert

log = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(self, url: str, repeat_s: float = 4 * 3600, retries: int = 4, backoff_s: float = 1.0,
                 timeout_s: float = 5.0, max_queue: int = 100) -> None:
        self.url, self.repeat_s, self.retries = url, repeat_s, retries
        self.backoff_s, self.timeout_s, self.max_queue = backoff_s, timeout_s, max_queue
        self._firing: dict[str, dict[str, tuple[Alert, float]]] = {}  # scope -> key -> (alert, sent at)
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._sending = False
        self.counts = {"sent": 0, "failed": 0, "dropped": 0}

    def update(self, scope: str, alerts: list[Alert], now: float | None = None) -> None:
        """Record what `scope` raises now and queue the messages that changed."""
        now = time.time() if now is None else now
        with self._lock:
            before = self._firing.get(scope, {})
            after: dict[str, tuple[Alert, float]] = {}
            for alert in alerts:
                previous = before.get(alert.key)
                if previous is None or now - previous[1] >= self.repeat_s:
                    self._enqueue("FIRING", alert)
                    after[alert.key] = (alert, now)
                else:
                    after[alert.key] = previous
            for key, (alert, _) in before.items():
                if key not in after:
                    self._enqueue("RESOLVED", alert)
            self._firing[scope] = after

    def _enqueue(self, state: str, alert: Alert) -> None:
        if len(self._queue) >= self.max_queue:
            self.counts["dropped"] += 1
            return
        icon = ":rotating_light:" if state == "FIRING" else ":white_check_mark:"
        self._queue.append({"text": f"{icon} [{state}] {alert.name}: {alert.text}",
                            "podium": {"state": state.lower(), "alert": alert.name, "key": alert.key,
                                       "severity": alert.severity}})
        self._start()
        self._wake.set()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="podium-webhook", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._queue:
                self._sending = True
                ok = self._deliver(self._queue.popleft())
                self.counts["sent" if ok else "failed"] += 1
                self._sending = False

    def _deliver(self, message: dict[str, Any]) -> bool:
        body = json.dumps(message).encode()
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff_s * 2 ** (attempt - 1), 60.0))
            try:
                request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                    response.read()
                return True
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code != 429:  # the receiver refuses it: retrying won't help
                    log.warning("Webhook refused an alert: HTTP %s", exc.code)
                    return False
            except (urllib.error.URLError, OSError) as exc:
                log.info("Webhook attempt %s failed: %s", attempt + 1, exc)
        log.warning("Webhook gave up on an alert after %s attempts", self.retries + 1)
        return False

    def idle(self) -> bool:
        """True when every queued message has been delivered or given up on."""
        return not self._queue and not self._sending and not self._wake.is_set()

"""What stands between a request and a version's runtime: load shedding, the cache, the batcher.

Per version and worker: at most `max_queue` requests may wait for or run on the model; the next one
is refused at once with `Overloaded` (503 + Retry-After) rather than letting latency grow. A request
that waits in the batch queue past `deadline` is refused the same way. Deterministic versions may
keep an LRU of answers keyed on the input batch's bytes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.serving.errors import Overloaded
from webapp.serving.scheduling.batching import Batcher
from webapp.serving.telemetry import metrics


@dataclass(frozen=True)
class Policy:
    """Batching, shedding and caching limits for one version (config defaults, manifest overrides)."""

    max_batch_size: int = 1  # 1 = no batching
    max_delay_ms: float = 2.0
    max_queue: int = 64
    deadline_s: float = 0.0  # 0 = no deadline
    cache_size: int = 0  # 0 = no cache; used only when the manifest says "deterministic": true

    def override(self, manifest: dict[str, Any]) -> Policy:
        batching = manifest.get("batching") or {}
        fields = {k: type(getattr(self, k))(batching[k]) for k in
                  ("max_batch_size", "max_delay_ms", "max_queue") if k in batching}
        deterministic = manifest.get("deterministic") is True
        cache = int(manifest.get("cache_size", self.cache_size)) if deterministic else 0
        return Policy(**{**self.__dict__, **fields, "cache_size": cache})


class Scheduler:
    """Run batches on one version's runtime under its policy; thread-safe."""

    def __init__(self, model: str, version: int, call: Any, policy: Policy) -> None:
        self.model, self.version, self.call, self.policy = model, version, call, policy
        self.batcher = Batcher(call, policy.max_batch_size, policy.max_delay_ms / 1000.0,
                               self._on_batch) if policy.max_batch_size > 1 else None
        self._lock = threading.Lock()
        self._waiting = 0
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.shed = self.hits = self.misses = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the version's `max_queue` places; raises Overloaded at once when none is free.

        The service takes it before the adapter decodes the request, so a refused request costs
        next to nothing.
        """
        self._admit()
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def answer(self, batch: np.ndarray) -> np.ndarray:
        """From the cache, or through the batcher or a direct call (the caller holds a slot)."""
        return self.answer_timed(batch)[0]

    def answer_timed(self, batch: np.ndarray) -> tuple[np.ndarray, float]:
        """`answer`, and the seconds it waited for its micro-batch to start (0 when none)."""
        key = self._key(batch) if self.policy.cache_size else None
        if key is not None:
            cached = self._cached(key)
            if cached is not None:
                return cached, 0.0
        out, waited = self._compute(batch)
        if key is not None:
            self._remember(key, out)
        return out, waited

    def _compute(self, batch: np.ndarray) -> tuple[np.ndarray, float]:
        if self.batcher is None:
            started = time.perf_counter()
            out = self.call(batch)
            metrics.observe_compute(self.model, self.version, time.perf_counter() - started, len(batch))
            return out, 0.0
        future = self.batcher.submit(batch)
        try:
            return future.result(self.policy.deadline_s or None), future.waited
        except FutureTimeout:
            future.cancel()  # still queued: the batcher skips it
            self._refuse("deadline", f"no answer within the {self.policy.deadline_s:g}s deadline")
            raise  # unreachable: _refuse raises

    def _admit(self) -> None:
        with self._lock:
            if self._waiting >= self.policy.max_queue:
                self.shed += 1
                full = True
            else:
                self._waiting += 1
                full = False
        if full:
            self._refuse("queue_full", f"{self.policy.max_queue} requests are already waiting")

    def _refuse(self, reason: str, detail: str) -> None:
        metrics.observe_shed(self.model, reason)
        raise Overloaded(f"Model {self.model} version {self.version} is overloaded: {detail}; "
                         "retry shortly", retry_after=1)

    def _on_batch(self, rows: int, seconds: float, waits: list[float]) -> None:
        metrics.observe_compute(self.model, self.version, seconds, rows)
        for wait in waits:
            metrics.observe_queue(self.model, self.version, wait)

    # -- the prediction cache -----------------------------------------------------------------
    @staticmethod
    def _key(batch: np.ndarray) -> bytes:
        return repr(batch.shape).encode() + batch.tobytes()

    def _cached(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            out = self._cache.get(key)
            if out is not None:
                self._cache.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
        metrics.observe_cache(self.model, self.version, out is not None)
        return None if out is None else out.copy()

    def _remember(self, key: bytes, out: np.ndarray) -> None:
        with self._lock:
            self._cache[key] = out.copy()
            while len(self._cache) > self.policy.cache_size:
                self._cache.popitem(last=False)

    def info(self) -> dict[str, Any]:
        return {"max_batch_size": self.policy.max_batch_size, "max_delay_ms": self.policy.max_delay_ms,
                "max_queue": self.policy.max_queue, "deadline_s": self.policy.deadline_s,
                "waiting": self._waiting, "shed": self.shed, "batches": getattr(self.batcher, "batches", 0),
                "cache": {"size": self.policy.cache_size, "entries": len(self._cache),
                          "hits": self.hits, "misses": self.misses}}

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()

"""The serving core's Prometheus metrics (model calls, queues, cache, shedding, loaded versions,
worker memory) and the scrape itself; the HTTP layer counts requests in `webapp.http.metrics`.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by gunicorn.conf.py before the workers fork) makes every
worker write its samples to files there, and `/metrics` sums them; without it (tests, `flask run`)
the process-local default registry is used.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024)

QUEUE = Histogram("podium_queue_seconds", "Time a request waited for the model (batch queue), in seconds",
                  ["model", "version"], buckets=LATENCY_BUCKETS)
COMPUTE = Histogram("podium_compute_seconds", "Time of one model call, in seconds",
                    ["model", "version"], buckets=LATENCY_BUCKETS)
BATCH = Histogram("podium_batch_size", "Rows in one model call", ["model", "version"],
                  buckets=BATCH_BUCKETS)
CACHE = Counter("podium_cache_requests", "Prediction cache lookups, by result (hit or miss)",
                ["model", "version", "result"])
SHED = Counter("podium_shed_requests", "Requests refused at once because the model's queue was full",
               ["model", "reason"])
LOADED = Gauge("podium_loaded_versions", "1 while a worker serves this version on this call path",
               ["model", "version", "call_path"], multiprocess_mode="livemax")
LIMITED = Counter("podium_rate_limited", "API requests refused by the client's rate limit or daily quota",
                  ["kind"])
CHAT_TOKENS = Counter("podium_chat_tokens", "Tokens a chat model read (prompt) and wrote (completion)",
                      ["model", "version", "kind"])
CHAT_FIRST_TOKEN = Histogram("podium_chat_time_to_first_token_seconds",
                             "From the call to a streamed answer's first text, in seconds",
                             ["model", "version"], buckets=LATENCY_BUCKETS)
MEMORY = Gauge("podium_worker_resident_memory_bytes", "Resident memory of each live worker process",
               multiprocess_mode="liveall")

_memory_at = 0.0
_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, remembered: `labels` checks its arguments and takes a lock on
    every call, several times per request. Children are never removed here, so one stays valid."""
    key = (metric, values)
    found = _children.get(key)
    if found is None:
        found = _children.setdefault(key, metric.labels(*values))
    return found


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition() -> bytes:
    """The text format for a scrape: every live worker's samples in multiprocess mode."""
    update_memory(force=True)
    if not multiprocess():
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def update_memory(force: bool = False) -> None:
    """Refresh this worker's RSS gauge, at most every 5 s unless forced (it costs a syscall)."""
    global _memory_at
    now = time.monotonic()
    if force or now - _memory_at > 5.0:
        _memory_at = now
        import psutil

        MEMORY.set(psutil.Process().memory_info().rss)


def observe_compute(model: str, version: int, seconds: float, rows: int) -> None:
    v = str(version)
    child(COMPUTE, model, v).observe(seconds)
    child(BATCH, model, v).observe(rows)


def observe_queue(model: str, version: int, seconds: float) -> None:
    child(QUEUE, model, str(version)).observe(seconds)


def observe_cache(model: str, version: int, hit: bool) -> None:
    child(CACHE, model, str(version), "hit" if hit else "miss").inc()


def observe_shed(model: str, reason: str) -> None:
    SHED.labels(model, reason).inc()


def set_loaded(model: str, version: int, call_path: str, loaded: bool) -> None:
    LOADED.labels(model, str(version), call_path).set(1 if loaded else 0)

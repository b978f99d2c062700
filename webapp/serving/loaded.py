"""One version as a worker holds it: its manifest, runtime, state and request counters."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from .runtimes import Runtime
from .scheduler import Scheduler
from .spec import ModelSpec


class State(StrEnum):
    LOADING = "LOADING"
    AVAILABLE = "AVAILABLE"
    FAILED = "FAILED"
    UNLOADED = "UNLOADED"


@dataclass
class Counters:
    """Per-version request figures for this worker; updated under a lock, read without one."""

    requests: int = 0
    errors: int = 0
    rows: int = 0
    last_latency_ms: float | None = None
    total_latency_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, seconds: float, rows: int, ok: bool) -> None:
        with self.lock:
            self.requests += 1
            self.errors += 0 if ok else 1
            self.rows += rows
            self.last_latency_ms = seconds * 1000.0
            self.total_latency_ms += seconds * 1000.0

    def as_dict(self) -> dict[str, Any]:
        mean = self.total_latency_ms / self.requests if self.requests else None
        return {"requests": self.requests, "errors": self.errors, "rows": self.rows,
                "last_latency_ms": self.last_latency_ms, "mean_latency_ms": mean}


@dataclass
class LoadedVersion:
    name: str
    version: int
    state: State
    spec: ModelSpec | None = None
    runtime: Runtime | None = None
    reason: str = ""
    identity: tuple[int, int] = (0, 0)  # (inode, mtime_ns) of the manifest, to notice a swap
    load_seconds: float | None = None
    artifact_bytes: int | None = None
    loaded_at: float | None = None
    counters: Counters = field(default_factory=Counters)
    acceleration: dict[str, Any] = field(default_factory=dict)  # which call path, and why
    scheduler: Scheduler | None = None  # shedding, cache and batching in front of the runtime

    @property
    def ready(self) -> bool:
        return self.state is State.AVAILABLE

    def run(self, batch: np.ndarray) -> np.ndarray:
        assert self.runtime is not None
        return self.runtime.run(batch)

    def slot(self) -> contextlib.AbstractContextManager[None]:
        """A place in the version's queue, taken before decoding; raises Overloaded when full."""
        return self.scheduler.slot() if self.scheduler is not None else contextlib.nullcontext()

    def serve(self, batch: np.ndarray) -> np.ndarray:
        """A request's batch through cache and batcher (inside `slot()`)."""
        return self.scheduler.answer(batch) if self.scheduler is not None else self.run(batch)

    def info(self) -> dict[str, Any]:
        return {
            "version": self.version, "state": self.state.value, "reason": self.reason,
            "call_path": getattr(self.runtime, "path", None), "acceleration": self.acceleration,
            "load_seconds": self.load_seconds, "artifact_bytes": self.artifact_bytes,
            "loaded_at": self.loaded_at, **self.counters.as_dict(),
            "scheduling": self.scheduler.info() if self.scheduler is not None else None,
        }


def now() -> float:
    return time.time()

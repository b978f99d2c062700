"""One version as a worker holds it, and the read-only summaries of it that leave the core.

`LoadedVersion` (runtime, scheduler, counters) never leaves `webapp.serving`: adapters get a
`ServedVersion` (what answered a prediction, fixed at load) or a `VersionStatus` (a version's state
and figures at one moment, for status, metadata and stats documents).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from .errors import ModelUnavailable, NotServed
from .models.spec import ModelSpec
from .runtimes import Runtime
from .scheduling.scheduler import Scheduler
from .scheduling.timing import PhaseTotals, Timings


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
    phases: PhaseTotals = field(default_factory=PhaseTotals)  # where the answered requests' time went
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, seconds: float, rows: int, ok: bool, timings: Timings | None = None) -> None:
        with self.lock:
            self.requests += 1
            self.errors += 0 if ok else 1
            self.rows += rows
            self.last_latency_ms = seconds * 1000.0
            self.total_latency_ms += seconds * 1000.0
        if timings is not None:
            self.phases.add(timings)

    def as_dict(self) -> dict[str, Any]:
        mean = self.total_latency_ms / self.requests if self.requests else None
        return {"requests": self.requests, "errors": self.errors, "rows": self.rows,
                "last_latency_ms": self.last_latency_ms, "mean_latency_ms": mean,
                "total_latency_ms": self.total_latency_ms, "timing": self.phases.as_dict()}


@dataclass(frozen=True)
class ServedVersion:
    """The version that answered a prediction: its name, number, manifest and call path."""

    model: str
    version: int
    spec: ModelSpec
    call_path: str


@dataclass(frozen=True)
class VersionStatus:
    """A version's state and figures at one moment (a copy: reading it never touches the worker)."""

    model: str
    version: int
    state: State
    reason: str = ""
    spec: ModelSpec | None = None
    call_path: str | None = None
    acceleration: dict[str, Any] = field(default_factory=dict)
    load_seconds: float | None = None
    artifact_bytes: int | None = None
    loaded_at: float | None = None
    counters: dict[str, Any] = field(default_factory=dict)
    scheduling: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self.state is State.AVAILABLE

    def info(self) -> dict[str, Any]:
        """What the stats endpoint and the ops page show for the version."""
        counters = {k: v for k, v in self.counters.items() if k != "total_latency_ms"}
        return {"version": self.version, "state": self.state.value, "reason": self.reason,
                "call_path": self.call_path, "acceleration": self.acceleration,
                "load_seconds": self.load_seconds, "artifact_bytes": self.artifact_bytes,
                "loaded_at": self.loaded_at, **counters, "scheduling": self.scheduling}


@dataclass
class LoadedVersion:
    """A version inside one worker: its runtime behind a scheduler, its state and counters."""

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
    served: ServedVersion | None = None  # set once it is AVAILABLE

    @property
    def ready(self) -> bool:
        return self.state is State.AVAILABLE

    def require_ready(self, retry_after: int) -> None:
        """Raise unless it can answer: NotServed (404) once retired, ModelUnavailable (503) while
        loading (with `retry_after`) or failed (without: a retry will not help until someone acts)."""
        if self.ready:
            return
        if self.state is State.UNLOADED:
            raise NotServed(self.name, self.version, self.reason or "unloaded")
        detail = f": {self.reason}" if self.reason else ""
        raise ModelUnavailable(f"Model {self.name} version {self.version} is {self.state.value}{detail}",
                               retry_after if self.state is State.LOADING else None)

    def run(self, batch: np.ndarray) -> np.ndarray:
        assert self.runtime is not None
        return self.runtime.run(batch)

    def run_background(self, batch: np.ndarray) -> np.ndarray:
        """`run` for work off the request path: a runtime's `run_rows` when it has one (it trades
        speed for not keeping memory for a batch no client sent: TFLiteRuntime)."""
        assert self.runtime is not None
        return getattr(self.runtime, "run_rows", self.runtime.run)(batch)

    def status(self) -> VersionStatus:
        return VersionStatus(
            self.name, self.version, self.state, self.reason, self.spec,
            getattr(self.runtime, "path", None), dict(self.acceleration), self.load_seconds,
            self.artifact_bytes, self.loaded_at, self.counters.as_dict(),
            self.scheduler.info() if self.scheduler is not None else None)

"""Where a prediction's time went: waiting for the model, decoding, computing, encoding.

The service measures the first three and returns them with the answer; the HTTP adapter adds its
encode time and writes all four as a `Server-Timing` header. Each version keeps running totals of
the four for the statistics endpoints (Triton's queue, compute_input, compute_infer and
compute_output).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

PHASES = ("queue", "decode", "compute", "encode")


@dataclass(frozen=True)
class Timings:
    """Seconds one request spent in each phase the core sees."""

    queue: float = 0.0  # waiting for a micro-batch to start (0 on a direct call or a cache hit)
    decode: float = 0.0  # the adapter's decoder and the conversion to the model's batch
    compute: float = 0.0  # the model call (or the cache), without the wait


@dataclass
class PhaseTotals:
    """Per-phase totals over one version's answered requests in this worker; thread-safe."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, timings: Timings) -> None:
        with self.lock:
            for phase in ("queue", "decode", "compute"):
                self.seconds[phase] += getattr(timings, phase)
                self.counts[phase] += 1

    def add_encode(self, seconds: float) -> None:
        with self.lock:
            self.seconds["encode"] += seconds
            self.counts["encode"] += 1

    def as_dict(self) -> dict[str, Any]:
        """{phase: {"count", "total_ms", "mean_ms"}}, means None before the first request."""
        return {phase: {"count": n, "total_ms": self.seconds[phase] * 1000.0,
                        "mean_ms": self.seconds[phase] * 1000.0 / n if n else None}
                for phase, n in self.counts.items()}

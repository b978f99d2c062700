"""What the request path hands to the prediction log, and which requests are kept.

A record only holds references (the batch the model saw, its output array, the version's spec):
turning them into rows, hashing and encrypting happen on the writer's thread, not the caller's.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from webapp.serving.models.spec import ModelSpec

CHOSEN_BY = ("default", "pinned", "label", "split")
SOURCES = ("v1", "v2", "page", "csv")


@dataclass(slots=True)
class PredictionRecord:
    """One request's prediction (or failure), as the HTTP layer saw it."""

    request_id: str  # Podium's own id for the request: feedback names it
    model: str
    version: int | None  # None when the request failed before a version was chosen
    spec: ModelSpec | None  # the answering version's manifest: features, labels, privacy
    inputs: np.ndarray | None  # the batch the model saw: float32 [n, features] or [n, h, w, c]
    outputs: np.ndarray | None  # probabilities [n, classes] or values [n] / [n, 1]
    latency_s: float
    status: int = 200
    client_request_id: str | None = None  # the caller's X-Request-ID, when it sent one
    chosen_by: str = "default"  # default | pinned | label | split
    caller: str | None = None
    source: str = "v1"  # v1 | v2 | page | csv
    uploads: list[bytes] | None = None  # image files as uploaded: digested, stored only if opted in
    logged_at: float = field(default_factory=time.time)
    sample_rate: float = 1.0  # set by the log when it keeps the record
    extra: dict[str, Any] | None = None
    row_ids: list[str] | None = None  # one request id per row (CSV job rows), else request_id for all
    kept_rows: list[int] | None = None  # which of the rows sampling kept, when it kept only some


def sample_fraction(request_id: str) -> float:
    """A stable number in [0, 1) for a request id: the same on every worker and every start."""
    digest = hashlib.blake2b(request_id.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


class Sampler:
    """Per-model sampling rates; a request is kept when its id's fraction falls below the rate."""

    def __init__(self, default_rate: float = 1.0, rates: dict[str, float] | None = None) -> None:
        self.default_rate = _rate(default_rate)
        self.rates = {name: _rate(r) for name, r in (rates or {}).items()}

    def rate(self, model: str) -> float:
        return self.rates.get(model, self.default_rate)

    def set_rate(self, model: str, rate: float | None) -> None:
        """Change one model's rate (e.g. from its config.json); None returns it to the default."""
        rates = dict(self.rates)  # replaced whole: readers on other threads need no lock
        if rate is None:
            rates.pop(model, None)
        else:
            rates[model] = _rate(rate)
        self.rates = rates

    def keep(self, request_id: str, model: str) -> bool:
        rate = self.rates.get(model, self.default_rate)
        if rate >= 1.0:
            return True
        return rate > 0.0 and sample_fraction(request_id) < rate


def _rate(value: float) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"a sampling rate must be between 0 and 1, got {value!r}")
    return rate

"""scipy.stats and scipy's Jensen-Shannon distance, imported on first use instead of at start.

Importing scipy.stats adds about 50 MB to a process (scipy.optimize, special, integrate, linalg and
their compiled libraries). Only the monitor's rounds need it, and only in the one worker that holds
the round's lock: the other workers, which import the monitoring package at start, never pay it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def stats() -> ModuleType:
    """The `scipy.stats` module (imported once, then a dictionary look-up)."""
    from scipy import stats as module

    return module


def jensenshannon(p: Any, q: Any, base: float | None = None) -> Any:
    from scipy.spatial.distance import jensenshannon as distance

    return distance(p, q, base=base)

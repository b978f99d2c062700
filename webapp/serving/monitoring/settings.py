"""The manifest's optional `monitoring` object: privacy of logged inputs and drift thresholds.

```json
"monitoring": {
  "sensitive": ["age"], "sensitive_mode": "hash",      // or "encrypt" (needs a Fernet key)
  "store_uploads": false,                             // images: keep the uploaded file too
  "categorical": ["sex"],                             // test these as categories, not numbers
  "drift": {"p_value": 0.05, "distance": 0.1, "psi": 0.1, "psi_bins": 30,
            "share": 0.5, "large_reference": 1000, "window_hours": 24, "min_rows": 30}
}
```
Every key is optional; the defaults are Evidently's (see `DriftThresholds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec

MODES = ("hash", "encrypt")
# what `monitoring.sensitive` may name on the kinds that take no tensor (see `kinds.py`)
KIND_FIELDS = {"recommendation": ("user", "items", "item"), "chat": ("prompt", "system", "answer")}


@dataclass(frozen=True)
class DriftThresholds:
    """Evidently's choices: p < 0.05 for small references, distance > 0.1 for large ones."""

    p_value: float = 0.05  # KS / chi-square / z-test: drift when p is below this
    distance: float = 0.1  # normalised Wasserstein / Jensen-Shannon: drift above this
    psi: float = 0.1  # population stability index, reported beside the test
    psi_bins: int = 30
    share: float = 0.5  # the dataset drifts when at least this share of its features drift
    large_reference: int = 1000  # references above this many rows use the distances
    window_hours: float = 24.0  # the current window: predictions logged in these last hours
    max_rows: int = 5000  # ... at most this many of the newest
    min_rows: int = 30  # fewer current rows than this: no verdict


@dataclass(frozen=True)
class MonitoringSpec:
    sensitive: frozenset[str] = frozenset()
    sensitive_mode: str = "hash"
    store_uploads: bool = False
    categorical: frozenset[str] = frozenset()
    drift: DriftThresholds = field(default_factory=DriftThresholds)


def _names(spec: ModelSpec, data: dict[str, Any], key: str) -> frozenset[str]:
    names = data.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"Invalid manifest: monitoring.{key} must be a list of feature names")
    known = KIND_FIELDS[spec.task] if key == "sensitive" and spec.task in KIND_FIELDS else spec.feature_names
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InvalidInput(f"Invalid manifest: monitoring.{key} names unknown feature {unknown[0]!r}")
    return frozenset(names)


def _drift(data: Any) -> DriftThresholds:
    if not isinstance(data, dict):
        raise InvalidInput("Invalid manifest: monitoring.drift must be an object")
    known = {f.name: f.type for f in fields(DriftThresholds)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise InvalidInput(f"Invalid manifest: monitoring.drift has unknown key {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInput(f"Invalid manifest: monitoring.drift.{key} must be a positive number")
        values[key] = int(value) if known[key] == "int" else float(value)
    return DriftThresholds(**values)


def monitoring_spec(spec: ModelSpec) -> MonitoringSpec:
    """Parse a version's `monitoring` object; raises InvalidInput naming the first problem."""
    data = spec.raw.get("monitoring") or {}
    if not isinstance(data, dict):
        raise InvalidInput("Invalid manifest: monitoring must be an object")
    mode = data.get("sensitive_mode", "hash")
    if mode not in MODES:
        raise InvalidInput(f"Invalid manifest: monitoring.sensitive_mode must be one of {MODES}")
    uploads = data.get("store_uploads", False)
    if not isinstance(uploads, bool):
        raise InvalidInput("Invalid manifest: monitoring.store_uploads must be true or false")
    return MonitoringSpec(
        sensitive=_names(spec, data, "sensitive"), sensitive_mode=mode, store_uploads=uploads,
        categorical=_names(spec, data, "categorical"), drift=_drift(data.get("drift", {})),
    )

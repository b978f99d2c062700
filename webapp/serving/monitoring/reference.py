"""The reference sample stored with each version: what drift is measured against.

`reference.json` (written by a trainer with `write_reference`, or shipped in an upload) holds a
random sample of the training inputs, at most 1,000 rows by default so the small-reference tests
apply (Evidently's rule), and optionally their labels:

    {"format": 1, "source": "training sample", "rows": 1000, "x": [[...], ...], "y": [...]}

`x` rows are in the manifest's feature order (values as the float32 the model sees), or the
preprocessed image tensors for image models (flattened or not).
Without it, the held-out rows (`heldout.json`: {"x": ..., "y": ...}) serve as the reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE = "reference.json"
HELDOUT = "heldout.json"
DEFAULT_ROWS = 1000


@dataclass(frozen=True)
class Sample:
    x: np.ndarray
    y: np.ndarray | None
    source: str


def write_reference(folder: str | Path, x: Any, y: Any = None, rows: int = DEFAULT_ROWS,
                    seed: int = 0) -> Path:
    """Write a seeded random sample of at most `rows` training rows as `reference.json`."""
    x = np.asarray(x)
    pick = np.sort(np.random.default_rng(seed).permutation(len(x))[:rows])
    data: dict[str, Any] = {"format": 1, "source": "training sample", "rows": int(len(pick)),
                            "x": [[float(str(v)) for v in row]  # float32's shortest decimals
                                  for row in x[pick].astype(np.float32).reshape(len(pick), -1)]}
    if y is not None:
        data["y"] = np.asarray(y)[pick].tolist()
    path = Path(folder) / REFERENCE
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _read(path: Path, source: str) -> Sample | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        x = np.asarray(data["x"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    y = np.asarray(data["y"]) if isinstance(data.get("y"), list) and len(data["y"]) == len(x) else None
    return Sample(x, y, data.get("source", source) if source != "held-out rows" else source)


def load_reference(version_path: str | Path) -> Sample | None:
    """The version's reference sample: `reference.json`, else its held-out rows, else None."""
    folder = Path(version_path)
    return _read(folder / REFERENCE, "training sample") or _read(folder / HELDOUT, "held-out rows")


def load_heldout(version_path: str | Path) -> Sample | None:
    """The held-out rows with labels (what CBPE calibrates on), or None."""
    sample = _read(Path(version_path) / HELDOUT, "held-out rows")
    return sample if sample is not None and sample.y is not None else None

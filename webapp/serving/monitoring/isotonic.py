"""Isotonic regression (pool adjacent violators) in numpy.

Workers that serve converted versions never import scikit-learn (its import alone costs tens of
MiB per worker); the monitor round runs in one of them, so the calibration CBPE needs is written
here: a non-decreasing step fit, read by linear interpolation and clipped at both ends, as
scikit-learn's IsotonicRegression(out_of_bounds="clip") reads its fit.
"""

from __future__ import annotations

import numpy as np


class Isotonic:
    """A non-decreasing map fitted by least squares to (x, y), y clipped to [y_min, y_max]."""

    def __init__(self, x: np.ndarray, y: np.ndarray, y_min: float = 0.0, y_max: float = 1.0) -> None:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1 or len(x) == 0:
            raise ValueError("x and y must be equally long non-empty vectors")
        self.x, counts_at = np.unique(x, return_inverse=True)
        weights = np.bincount(counts_at).astype(np.float64)
        means = np.bincount(counts_at, weights=y) / weights  # tied x values share their mean
        self.y = np.clip(_pool_adjacent_violators(means, weights), y_min, y_max)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=np.float64), self.x, self.y)


def _pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-decreasing fit: merge neighbouring blocks that decrease."""
    block_value: list[float] = []
    block_weight: list[float] = []
    block_size: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        block_value.append(value)
        block_weight.append(weight)
        block_size.append(1)
        while len(block_value) > 1 and block_value[-2] > block_value[-1]:
            v, w, n = block_value.pop(), block_weight.pop(), block_size.pop()
            total = block_weight[-1] + w
            block_value[-1] = (block_value[-1] * block_weight[-1] + v * w) / total
            block_weight[-1] = total
            block_size[-1] += n
    return np.repeat(block_value, block_size)

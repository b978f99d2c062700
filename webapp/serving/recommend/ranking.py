"""Top-k selection over dense score rows: seen items masked out, ties broken by popularity."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def popularity(matrix: sp.csr_matrix) -> np.ndarray:
    """How many users interacted with each item."""
    return np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)


def tiebreak(item_popularity: np.ndarray) -> np.ndarray:
    """A tiny per-item bonus in popularity order: below any real score difference, above none."""
    ranks = np.empty(len(item_popularity))
    ranks[np.argsort(item_popularity, kind="stable")] = np.arange(len(item_popularity))
    return ranks / len(ranks) * 1e-9


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None,
          bonus: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per row, the indices and scores of the k best items not in `exclude`, best first.

    A row with fewer than k allowed items answers fewer. Equal scores (e.g. items no neighbour
    touched) are ordered by popularity (`bonus`, from `tiebreak`), so a sparse history still gets
    a useful list.
    """
    key = scores.astype(np.float64) + bonus
    if exclude is not None:
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        key[rows, exclude.indices] = -np.inf
    k = min(k, key.shape[1])
    top = np.argpartition(-key, k - 1, axis=1)[:, :k]
    top_keys = np.take_along_axis(key, top, axis=1)
    order = np.argsort(-top_keys, axis=1, kind="stable")
    top, top_keys = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_keys, order, axis=1)
    ids, vals = [], []
    for r in range(key.shape[0]):
        allowed = np.isfinite(top_keys[r])
        ids.append(top[r][allowed])
        vals.append(scores[r, top[r][allowed]])
    return ids, vals

"""The three ways to score every item for a batch of users, vectorised with numpy and scipy.sparse.

Each scorer takes the users' interaction rows (known users' rows from the matrix, or rows built from
a list of items sent with a request) and answers dense scores `[n, items]`. Whatever can be computed
once (normalised matrices, projections) is computed when the version loads.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp


class Scorer(Protocol):
    """What the runtime needs from a method: scores for rows, similarity of one item to all."""

    def scores(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray: ...

    def similar(self, item: int) -> np.ndarray: ...


def l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row scaled to unit length (empty rows stay empty): cosine becomes a dot product."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms).astype(np.float32) @ matrix)


class ItemColumns:
    """Cosine between one item's column and every other column, for methods without item vectors."""

    def __init__(self, matrix: sp.csr_matrix) -> None:
        self.by_item = l2_rows(sp.csr_matrix(matrix.T))  # items x users, unit rows
        self.by_item_t = sp.csr_matrix(self.by_item.T)

    def similar(self, item: int) -> np.ndarray:
        return (self.by_item[item] @ self.by_item_t).toarray().ravel()


class UserCosine:
    """User-based CF: the `neighbours` most cosine-similar users vote for their items by similarity."""

    def __init__(self, matrix: sp.csr_matrix, neighbours: int = 50) -> None:
        self.matrix = matrix
        self.neighbours = neighbours
        self.users_t = sp.csr_matrix(l2_rows(matrix).T)  # items x users, for rows @ users_t
        self.columns = ItemColumns(matrix)

    def scores(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        sims = sp.csr_matrix(l2_rows(rows) @ self.users_t)  # n x users, sparse: shared items only
        weights = self._top_neighbours(sims, users)
        totals = np.asarray(np.abs(weights).sum(axis=1)).ravel()
        totals[totals == 0] = 1.0
        return np.asarray((weights @ self.matrix).toarray() / totals[:, None], dtype=np.float32)

    def _top_neighbours(self, sims: sp.csr_matrix, users: np.ndarray) -> sp.csr_matrix:
        """Keep each row's `neighbours` largest similarities, never the user themself."""
        data, indices, indptr = [], [], [0]
        for r in range(sims.shape[0]):
            lo, hi = sims.indptr[r], sims.indptr[r + 1]
            cols, vals = sims.indices[lo:hi], sims.data[lo:hi]
            keep = cols != users[r]
            cols, vals = cols[keep], vals[keep]
            if len(vals) > self.neighbours:
                top = np.argpartition(-vals, self.neighbours - 1)[: self.neighbours]
                cols, vals = cols[top], vals[top]
            data.append(vals)
            indices.append(cols)
            indptr.append(indptr[-1] + len(vals))
        return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=sims.shape)

    def similar(self, item: int) -> np.ndarray:
        return self.columns.similar(item)


class ItemCosine:
    """Item-based CF: each item a user has seen votes for its precomputed most similar items."""

    def __init__(self, neighbours: sp.csr_matrix) -> None:
        self.neighbours = neighbours  # items x items, row j: similarity of j to its top items

    def scores(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((rows @ self.neighbours).toarray(), dtype=np.float32)

    def similar(self, item: int) -> np.ndarray:
        return self.neighbours[item].toarray().ravel()


class Factors:
    """Matrix factorisation: a user is folded into the item-factor space from their row, then dotted."""

    def __init__(self, item_factors: np.ndarray) -> None:
        v = np.asarray(item_factors, dtype=np.float32)  # items x f
        self.item_factors_t = np.ascontiguousarray(v.T)
        # least-squares fold-in, u = x V (V'V)^+; for TruncatedSVD (orthonormal V) this is x V
        self.fold_in = np.asarray(v @ np.linalg.pinv(v.T @ v), dtype=np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.unit = v / norms

    def scores(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((rows @ self.fold_in) @ self.item_factors_t, dtype=np.float32)

    def similar(self, item: int) -> np.ndarray:
        return self.unit @ self.unit[item]

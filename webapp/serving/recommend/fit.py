"""Training for the three methods, and the files each adds to a version (safe `.npz` only).

`user_cosine` needs nothing beyond the matrix; `item_cosine` stores every item's top similar items
(a sparse items x items matrix, so scoring never builds a dense one); `svd` stores item factors from
scikit-learn's TruncatedSVD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from webapp.serving.arrays import load_csr, read_npz, save_csr
from webapp.serving.errors import InvalidInput

from .scoring import Factors, ItemCosine, Scorer, UserCosine, l2_rows

METHODS = ("user_cosine", "item_cosine", "svd")
DEFAULTS: dict[str, dict[str, Any]] = {
    "user_cosine": {"neighbours": 50},
    "item_cosine": {"neighbours": 100},
    "svd": {"components": 32, "seed": 0},
}
NEIGHBOURS = "item_neighbours.npz"
FACTORS = "factors.npz"


def item_neighbours(matrix: sp.csr_matrix, keep: int = 100, block: int = 512) -> sp.csr_matrix:
    """Cosine between item columns, keeping each item's `keep` best others; computed block by block."""
    by_item = l2_rows(sp.csr_matrix(matrix.T))  # items x users
    by_item_t = sp.csc_matrix(by_item.T)
    n_items = by_item.shape[0]
    keep = max(1, min(keep, n_items - 1))
    rows, cols, vals = [], [], []
    for start in range(0, n_items, block):
        sims = (by_item[start:start + block] @ by_item_t).toarray()
        stop = start + sims.shape[0]
        sims[np.arange(sims.shape[0]), np.arange(start, stop)] = 0.0  # an item is not its own neighbour
        top = np.argpartition(-sims, keep - 1, axis=1)[:, :keep]
        top_vals = np.take_along_axis(sims, top, axis=1)
        nonzero = top_vals > 0
        rows.append(np.repeat(np.arange(start, stop), nonzero.sum(axis=1)))
        cols.append(top[nonzero])
        vals.append(top_vals[nonzero])
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32),
                          (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items))


def svd_factors(matrix: sp.csr_matrix, components: int = 32, seed: int = 0) -> np.ndarray:
    """Item factors (items x components) of a truncated SVD, deterministic for a given seed."""
    from sklearn.decomposition import TruncatedSVD

    components = max(1, min(components, min(matrix.shape) - 1))
    svd = TruncatedSVD(n_components=components, random_state=seed).fit(matrix)
    return np.asarray(svd.components_.T, dtype=np.float32)


def check_method(method: Any, params: Any) -> dict[str, Any]:
    """The method's parameters with defaults filled in; raises InvalidInput for an unknown method."""
    if method not in METHODS:
        raise InvalidInput(f"Invalid manifest: recommendation.method must be one of {list(METHODS)}")
    if not isinstance(params, dict):
        raise InvalidInput("Invalid manifest: recommendation.params must be an object")
    merged = {**DEFAULTS[method], **params}
    for key, value in merged.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"Invalid manifest: recommendation.params.{key} must be a whole number")
    return merged


def fit_parts(matrix: sp.csr_matrix, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Train what the method stores beside the matrix."""
    if method == "item_cosine":
        return {"neighbours": item_neighbours(matrix, params["neighbours"])}
    if method == "svd":
        return {"item_factors": svd_factors(matrix, params["components"], params["seed"])}
    return {}


def make_scorer(matrix: sp.csr_matrix, method: str, params: dict[str, Any],
                parts: dict[str, Any]) -> Scorer:
    if method == "item_cosine":
        return ItemCosine(parts["neighbours"])
    if method == "svd":
        return Factors(parts["item_factors"])
    return UserCosine(matrix, params["neighbours"])


def save_parts(folder: Path, parts: dict[str, Any]) -> list[str]:
    """Write the trained parts; returns the file names written."""
    if "neighbours" in parts:
        save_csr(folder / NEIGHBOURS, parts["neighbours"])
        return [NEIGHBOURS]
    if "item_factors" in parts:
        np.savez_compressed(folder / FACTORS, item_factors=parts["item_factors"])
        return [FACTORS]
    return []


def load_parts(folder: Path, method: str, n_items: int) -> dict[str, Any]:
    """Read the trained parts back; raises InvalidInput when missing or of the wrong size."""
    if method == "item_cosine":
        neighbours = load_csr(folder / NEIGHBOURS)
        if neighbours.shape != (n_items, n_items):
            raise InvalidInput(f"Invalid recommender artifact: {NEIGHBOURS} is not {n_items}x{n_items}")
        return {"neighbours": neighbours}
    if method == "svd":
        factors = read_npz(folder / FACTORS, ("item_factors",))["item_factors"]
        fits = factors.dtype.kind == "f" and factors.ndim == 2 and factors.shape[0] == n_items
        if not fits or not np.isfinite(factors).all():
            raise InvalidInput(f"Invalid recommender artifact: {FACTORS} does not fit {n_items} items")
        return {"item_factors": factors.astype(np.float32)}
    return {}

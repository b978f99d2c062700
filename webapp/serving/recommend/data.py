"""The recommender's artifact on disk: a sparse user-item matrix with its ids, in safe formats only.

Arrays go into `.npz` files read with `allow_pickle=False`; ids and item names go into JSON. Nothing
on this path can run code when a version is loaded.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from webapp.serving.errors import InvalidInput

INTERACTIONS = "interactions.npz"
IDS = "ids.json"


@dataclass(frozen=True)
class Interactions:
    """Who interacted with what, and how strongly (a rating, a count or 1): users x items, CSR."""

    matrix: sp.csr_matrix
    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    item_names: tuple[str, ...]

    def __post_init__(self) -> None:
        users, items = self.matrix.shape
        _require(len(self.user_ids) == users, f"{len(self.user_ids)} user ids for {users} rows")
        _require(len(self.item_ids) == items, f"{len(self.item_ids)} item ids for {items} columns")
        _require(len(self.item_names) == items, f"{len(self.item_names)} item names for {items} items")
        _require(len(set(self.user_ids)) == users, "user ids must be unique")
        _require(len(set(self.item_ids)) == items, "item ids must be unique")
        _require(users > 0 and items > 0, "the matrix needs at least one user and one item")

    @classmethod
    def from_triples(cls, users: list[str], items: list[str], values: list[float],
                     item_names: dict[str, str] | None = None) -> Interactions:
        """Build from (user, item, value) rows; ids are ordered as first seen, duplicates summed."""
        user_ids = list(dict.fromkeys(users))
        item_ids = list(dict.fromkeys(items))
        u_index = {u: i for i, u in enumerate(user_ids)}
        i_index = {it: i for i, it in enumerate(item_ids)}
        matrix = sp.csr_matrix(
            (np.asarray(values, dtype=np.float32),
             ([u_index[u] for u in users], [i_index[it] for it in items])),
            shape=(len(user_ids), len(item_ids)))
        names = item_names or {}
        return cls(matrix, tuple(user_ids), tuple(item_ids),
                   tuple(names.get(it, it) for it in item_ids))

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidInput(f"Invalid recommender artifact: {message}")


def save_csr(path: Path, matrix: sp.csr_matrix) -> None:
    """Write a CSR matrix as plain arrays (no pickled objects)."""
    m = sp.csr_matrix(matrix)
    np.savez_compressed(path, data=m.data.astype(np.float32), indices=m.indices.astype(np.int32),
                        indptr=m.indptr.astype(np.int64), shape=np.asarray(m.shape, dtype=np.int64))


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named arrays of an `.npz`, never unpickling; raises InvalidInput naming the file."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            return {key: f[key] for key in keys}
    except FileNotFoundError:
        raise InvalidInput(f"Invalid recommender artifact: {path.name} is missing") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"Invalid recommender artifact: cannot read {path.name} ({exc})") from None


def load_csr(path: Path) -> sp.csr_matrix:
    """Read a CSR matrix written by `save_csr`; raises InvalidInput when it is missing or malformed."""
    f = read_npz(path, ("data", "indices", "indptr", "shape"))
    try:
        shape = tuple(int(x) for x in f["shape"])
        matrix = sp.csr_matrix((f["data"].astype(np.float32), f["indices"], f["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Invalid recommender artifact: cannot read {path.name} ({exc})") from None
    _require(bool(np.isfinite(matrix.data).all()), f"{path.name} holds values that are not finite")
    return matrix


def save_interactions(folder: Path, interactions: Interactions) -> None:
    save_csr(folder / INTERACTIONS, interactions.matrix)
    ids = {"users": list(interactions.user_ids), "items": list(interactions.item_ids),
           "item_names": list(interactions.item_names)}
    (folder / IDS).write_text(json.dumps(ids), encoding="utf-8")


def load_interactions(folder: Path) -> Interactions:
    """Read the matrix and its ids; raises InvalidInput naming the first problem."""
    matrix = load_csr(folder / INTERACTIONS)
    try:
        ids = json.loads((folder / IDS).read_text(encoding="utf-8"))
        users, items, names = ids["users"], ids["items"], ids["item_names"]
    except FileNotFoundError:
        raise InvalidInput(f"Invalid recommender artifact: {IDS} is missing") from None
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput(f"Invalid recommender artifact: {IDS} is malformed ({exc})") from None
    _require(all(isinstance(x, str) for seq in (users, items, names) for x in seq),
             f"{IDS} must hold lists of strings")
    return Interactions(matrix, tuple(users), tuple(items), tuple(names))

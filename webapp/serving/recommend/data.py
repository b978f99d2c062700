"""The recommender's artifact on disk: a sparse user-item matrix with its ids, in safe formats only.

Arrays go into `.npz` files read with `allow_pickle=False`; ids and item names go into JSON. Nothing
on this path can run code when a version is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from webapp.serving.arrays import load_csr, save_csr
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

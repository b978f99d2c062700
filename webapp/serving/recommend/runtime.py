"""A loaded recommender version: top-k items for users, similar items, and cold starts.

Plain values in and out (ids, ints, `Recommendation`s); errors are `InvalidInput` naming the unknown
user or item or the bad `k`, which each protocol renders as its own 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from webapp.serving.errors import InvalidInput

from .data import Interactions, load_interactions
from .fit import check_method, load_parts, make_scorer
from .ranking import popularity, tiebreak, top_k

BATCH = 256  # users scored together: bounds the dense [users, items] block in memory
COLD_START = ("popular", "error")


@dataclass(frozen=True)
class Recommendation:
    """Ranked items for one request row; `basis` says what they came from."""

    items: list[str]
    names: list[str]
    scores: list[float]
    basis: str  # "history" (a known user), "items" (items sent with the request), "popular", "item"


@dataclass(frozen=True)
class RecommendConfig:
    """The manifest's `recommendation` section, checked once at load."""

    method: str
    params: dict[str, Any]
    k_default: int = 10
    k_max: int = 100
    cold_start: str = "popular"

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> RecommendConfig:
        section = manifest.get("recommendation")
        if not isinstance(section, dict):
            raise InvalidInput("Invalid manifest: a recommender needs a 'recommendation' object")
        method = section.get("method")
        params = check_method(method, section.get("params", {}))
        k_default, k_max = section.get("k_default", 10), section.get("k_max", 100)
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in (k_default, k_max)) \
                or not 1 <= k_default <= k_max:
            raise InvalidInput("Invalid manifest: need 1 <= recommendation.k_default <= k_max")
        cold_start = section.get("cold_start", "popular")
        if cold_start not in COLD_START:
            raise InvalidInput(f"Invalid manifest: recommendation.cold_start must be one of {COLD_START}")
        return cls(method, params, k_default, k_max, cold_start)


class Recommender:
    """Answers recommendation calls from an interaction matrix and one scoring method."""

    path = "recommend"  # the call path shown in metadata and stats, as other runtimes have

    def __init__(self, data: Interactions, config: RecommendConfig, parts: dict[str, Any]) -> None:
        self.data, self.config = data, config
        self.scorer = make_scorer(data.matrix, config.method, config.params, parts)
        self.user_index = {u: i for i, u in enumerate(data.user_ids)}
        self.item_index = {it: i for i, it in enumerate(data.item_ids)}
        self.popularity = popularity(data.matrix)
        self.popular_order = np.argsort(-self.popularity, kind="stable")
        self.bonus = tiebreak(self.popularity)

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> Recommender:
        """Load a version folder; raises InvalidInput when the manifest or an artifact is unusable."""
        config = RecommendConfig.from_manifest(manifest)
        data = load_interactions(folder)
        return cls(data, config, load_parts(folder, config.method, data.shape[1]))

    @property
    def k_limit(self) -> int:
        return min(self.config.k_max, self.data.shape[1])

    def check_k(self, k: Any) -> int:
        """`k` itself if it is a whole number in range (None means the manifest's default)."""
        if k is None:
            return min(self.config.k_default, self.k_limit)
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= self.k_limit:
            raise InvalidInput(f"k must be a whole number from 1 to {self.k_limit}, got {k!r}")
        return int(k)

    def recommend(self, users: list[str], k: int | None = None,
                  exclude_seen: bool = True) -> list[Recommendation]:
        """Top-k items for each user; an unknown user gets the popular items (or InvalidInput)."""
        k = self.check_k(k)
        _strings(users, "User")
        unknown = [u for u in users if u not in self.user_index]
        if unknown and self.config.cold_start == "error":
            raise InvalidInput(f"Unknown user ids: {_few(unknown)}")
        known = np.asarray([self.user_index[u] for u in users if u in self.user_index], dtype=np.int64)
        ranked = iter(self._rank(self.data.matrix[known], known, k, exclude_seen, "history"))
        return [next(ranked) if u in self.user_index else self.popular(k) for u in users]

    def recommend_from_items(self, items: list[str], k: int | None = None,
                             exclude_seen: bool = True) -> Recommendation:
        """Cold start from items a caller names (e.g. a new user's first clicks)."""
        k = self.check_k(k)
        if not items:
            return self.popular(k)
        columns = self._item_indices(items)
        row = sp.csr_matrix((np.ones(len(columns), np.float32), (np.zeros(len(columns), int), columns)),
                            shape=(1, self.data.shape[1]))
        return self._rank(row, np.asarray([-1]), k, exclude_seen, "items")[0]

    def similar_items(self, item: str, k: int | None = None) -> Recommendation:
        """The k items most similar to `item` under this version's method, the item itself left out."""
        k = self.check_k(k)
        index = self._item_indices([item])[0]
        sims = self.scorer.similar(index)[None, :]
        exclude = sp.csr_matrix(([1.0], ([0], [index])), shape=(1, self.data.shape[1]))
        ids, scores = top_k(sims, k, exclude, self.bonus)
        return self._answer(ids[0], scores[0], "item")

    def popular(self, k: int | None = None) -> Recommendation:
        """The k items most users interacted with; scores are the share of users."""
        top = self.popular_order[: self.check_k(k)]
        return self._answer(top, self.popularity[top] / max(1, self.data.shape[0]), "popular")

    def history(self, user: str) -> list[tuple[str, str, float]]:
        """What a known user interacted with: (item id, name, value), strongest first."""
        _strings([user], "User")
        if user not in self.user_index:
            raise InvalidInput(f"Unknown user ids: {_few([user])}")
        row = self.data.matrix[self.user_index[user]]
        order = np.argsort(-row.data, kind="stable")
        return [(self.data.item_ids[i], self.data.item_names[i], float(v))
                for i, v in zip(row.indices[order], row.data[order], strict=True)]

    def _item_indices(self, items: list[str]) -> np.ndarray:
        _strings(items, "Item")
        unknown = [it for it in items if it not in self.item_index]
        if unknown:
            raise InvalidInput(f"Unknown item ids: {_few(unknown)}")
        return np.unique([self.item_index[it] for it in items])

    def _rank(self, rows: sp.csr_matrix, users: np.ndarray, k: int, exclude_seen: bool,
              basis: str) -> list[Recommendation]:
        answers = []
        for start in range(0, rows.shape[0], BATCH):
            block = rows[start:start + BATCH]
            scores = self.scorer.scores(block, users[start:start + BATCH])
            ids, vals = top_k(scores, k, block if exclude_seen else None, self.bonus)
            answers += [self._answer(i, v, basis) for i, v in zip(ids, vals, strict=True)]
        return answers

    def _answer(self, indices: np.ndarray, scores: np.ndarray, basis: str) -> Recommendation:
        return Recommendation([self.data.item_ids[i] for i in indices],
                              [self.data.item_names[i] for i in indices],
                              [round(float(s), 6) for s in scores], basis)


def _strings(ids: list[Any], what: str) -> None:
    if not isinstance(ids, list | tuple) or not all(isinstance(x, str) for x in ids):
        raise InvalidInput(f"{what} ids must be a list of strings")


def _few(ids: list[str], limit: int = 5) -> str:
    """Name the first few ids (each cut to 64 characters) so an error message stays short."""
    shown = ", ".join(repr(x if len(x) <= 64 else x[:64] + "...") for x in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

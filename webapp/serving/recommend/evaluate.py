"""Held-out quality of a method beside a most-popular baseline: precision, recall, NDCG, hit rate at k
and catalogue coverage, the figures recommender papers and tools report.

The split holds out a share of each user's interactions (chosen with a seeded generator, so a
rebuild gives the same figures); the method is fitted on the rest and must find the held-out items
among the items each user has not seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from .fit import fit_parts, make_scorer
from .ranking import popularity, tiebreak, top_k
from .scoring import Scorer

BLOCK = 512


def holdout_split(matrix: sp.csr_matrix, fraction: float = 0.2, seed: int = 0,
                  min_items: int = 3) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(train, test): each user with at least `min_items` interactions gives `fraction` of them to test."""
    m = sp.csr_matrix(matrix, copy=True)
    m.sort_indices()
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    order = np.lexsort((np.random.default_rng(seed).random(m.nnz), rows))  # shuffled within each row
    position = np.empty(m.nnz, dtype=np.int64)
    position[order] = np.arange(m.nnz) - m.indptr[rows[order]]
    held = np.where(counts >= min_items, np.maximum(1, np.round(counts * fraction)), 0).astype(int)
    test_mask = position < held[rows]
    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((m.data[mask], (rows[mask], m.indices[mask])), shape=m.shape)
    return part(~test_mask), part(test_mask)


class Popular:
    """The baseline: every user gets the most popular items they have not seen."""

    def __init__(self, train: sp.csr_matrix) -> None:
        self.counts = popularity(train).astype(np.float32)

    def scores(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (rows.shape[0], 1))


def _lists(scorer: Scorer, train: sp.csr_matrix, users: np.ndarray, k: int) -> Iterator[np.ndarray]:
    bonus = tiebreak(popularity(train))
    for start in range(0, len(users), BLOCK):
        block = users[start:start + BLOCK]
        rows = train[block]
        yield from top_k(scorer.scores(rows, block), k, rows, bonus)[0]


def ranking_metrics(lists: list[np.ndarray], test: sp.csr_matrix, users: np.ndarray, k: int,
                    n_items: int) -> dict[str, float]:
    """Mean precision, recall, NDCG and hit rate at k over `users`, and catalogue coverage."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    precision, recall, ndcg, hits = [], [], [], []
    for user, items in zip(users, lists, strict=True):
        relevant = test.indices[test.indptr[user]:test.indptr[user + 1]]
        hit = np.isin(items, relevant)
        precision.append(hit.sum() / k)
        recall.append(hit.sum() / len(relevant))
        ndcg.append((discounts[: len(hit)] * hit).sum() / discounts[: min(k, len(relevant))].sum())
        hits.append(hit.any())
    covered = len(np.unique(np.concatenate(lists))) if lists else 0
    return {f"precision@{k}": float(np.mean(precision)), f"recall@{k}": float(np.mean(recall)),
            f"ndcg@{k}": float(np.mean(ndcg)), f"hit_rate@{k}": float(np.mean(hits)),
            f"coverage@{k}": covered / n_items}


def evaluate(matrix: sp.csr_matrix, method: str, params: dict[str, Any], k: int = 10,
             fraction: float = 0.2, seed: int = 0, max_users: int | None = None) -> dict[str, Any]:
    """Fit `method` on a held-out split and score it and the popularity baseline on the same users."""
    train, test = holdout_split(matrix, fraction, seed)
    users = np.flatnonzero(np.diff(test.indptr))
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    model = make_scorer(train, method, params, fit_parts(train, method, params))
    found = {name: ranking_metrics(list(_lists(scorer, train, users, k)), test, users, k, matrix.shape[1])
             for name, scorer in (("model", model), ("popular", Popular(train)))}
    split = {"held_out_fraction": fraction, "seed": seed, "users_evaluated": int(len(users)),
             "held_out_interactions": int(test[users].nnz), "k": k}
    return {"metrics": found["model"], "baseline": found["popular"], "split": split}

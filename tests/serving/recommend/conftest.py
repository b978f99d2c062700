"""Small recommender versions built from the demo's generator, one per method, once per session."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from webapp.demos.recommender import GENRES, generate
from webapp.serving.recommend import Recommender
from webapp.serving.recommend.build import build_version

USERS, ITEMS = 400, 120
PARAMS = {"user_cosine": {}, "item_cosine": {}, "svd": {"components": 8}}


@pytest.fixture(scope="session")
def generated():
    """(interactions, genre of each item, tastes of each user) with the demo's latent structure."""
    return generate(USERS, ITEMS)


@pytest.fixture(scope="session")
def version_folders(generated, tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for method, params in PARAMS.items():
        folder = tmp_path_factory.mktemp(method)
        build_version(folder, generated[0], method, params, description="test", training_data={})
        folders[method] = folder
    return folders


def load(folder: Path, **changes) -> Recommender:
    manifest = json.loads((folder / "model.json").read_text())
    manifest["recommendation"].update(changes)
    return Recommender.load(folder, manifest)


@pytest.fixture(params=list(PARAMS))
def recommender(request, version_folders) -> Recommender:
    return load(version_folders[request.param])


def genre_of(name: str) -> str:
    """The demo writes each film's genre in its name: 'The Silent Harbour (Drama)'."""
    genre = name.rsplit("(", 1)[1].rstrip(")")
    assert genre in GENRES
    return genre


def devoted_users(tastes: np.ndarray, threshold: float = 0.7) -> list[tuple[int, str]]:
    """Users whose taste weight for one genre is above `threshold`: (user index, that genre)."""
    return [(int(u), GENRES[int(tastes[u].argmax())]) for u in np.flatnonzero(tastes.max(axis=1) > threshold)]

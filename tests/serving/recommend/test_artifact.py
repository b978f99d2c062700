"""A recommender version loads only from safe, consistent files; anything else is refused by name."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from webapp.serving.errors import InvalidInput
from webapp.serving.recommend import Interactions, Recommender

from .conftest import load


@pytest.fixture
def folder(version_folders, tmp_path):
    copy = tmp_path / "svd"
    shutil.copytree(version_folders["svd"], copy)
    return copy


def test_a_pickled_array_is_refused_not_loaded(folder):
    np.savez(folder / "factors.npz", item_factors=np.array([object()] * 3, dtype=object))
    with pytest.raises(InvalidInput, match="cannot read factors.npz"):
        load(folder)


@pytest.mark.parametrize("missing", ["interactions.npz", "ids.json", "factors.npz"])
def test_a_missing_file_is_named(folder, missing):
    (folder / missing).unlink()
    with pytest.raises(InvalidInput, match=missing.replace(".", r"\.")):
        load(folder)


def test_ids_that_do_not_match_the_matrix_are_refused(folder):
    ids = json.loads((folder / "ids.json").read_text())
    ids["users"] = ids["users"][:-1]
    (folder / "ids.json").write_text(json.dumps(ids))
    with pytest.raises(InvalidInput, match="user ids for 400 rows"):
        load(folder)


def test_a_corrupt_matrix_is_refused(folder):
    (folder / "interactions.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidInput, match="cannot read interactions.npz"):
        load(folder)


def test_factors_for_another_catalogue_are_refused(folder):
    np.savez(folder / "factors.npz", item_factors=np.ones((7, 8), np.float32))
    with pytest.raises(InvalidInput, match="does not fit 120 items"):
        load(folder)


@pytest.mark.parametrize(("change", "message"), [
    ({"method": "magic"}, "recommendation.method must be one of"),
    ({"params": {"components": -3}}, "params.components must be a whole number"),
    ({"k_default": 0}, "k_default <= k_max"),
    ({"k_default": 20, "k_max": 10}, "k_default <= k_max"),
    ({"cold_start": "guess"}, "cold_start must be one of"),
])
def test_a_bad_manifest_section_is_refused(folder, change, message):
    with pytest.raises(InvalidInput, match=message):
        load(folder, **change)


def test_a_manifest_without_the_section_is_refused(folder):
    with pytest.raises(InvalidInput, match="needs a 'recommendation' object"):
        Recommender.load(folder, {"task": "recommendation"})


def test_triples_become_a_matrix_with_ids_in_first_seen_order():
    data = Interactions.from_triples(["b", "a", "b", "b"], ["x", "y", "y", "y"], [1, 2, 3, 4], {"x": "Ex"})
    assert data.user_ids == ("b", "a")
    assert data.item_ids == ("x", "y")
    assert data.item_names == ("Ex", "y")
    assert data.matrix.toarray().tolist() == [[1.0, 7.0], [0.0, 2.0]]  # repeats add up

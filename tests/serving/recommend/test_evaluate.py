"""Held-out metrics: the split is reproducible, the figures are right, the demo beats popularity."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from webapp.demos.recommender import DEMOS
from webapp.serving.recommend.evaluate import holdout_split, ranking_metrics


def test_the_split_partitions_each_users_interactions_the_same_way_every_time(generated):
    matrix = generated[0].matrix
    train, test = holdout_split(matrix, 0.2, seed=3)
    again_train, again_test = holdout_split(matrix, 0.2, seed=3)
    assert (train != again_train).nnz == 0
    assert (test != again_test).nnz == 0
    assert ((train + test) != matrix).nnz == 0
    assert train.multiply(test).nnz == 0
    counts, held = np.diff(matrix.indptr), np.diff(test.indptr)
    assert np.array_equal(held, np.maximum(1, np.round(counts * 0.2)).astype(int) * (counts >= 3))


def test_metrics_match_a_case_worked_by_hand():
    # user 0 holds out items 1 and 3; user 1 holds out item 0
    test = sp.csr_matrix(np.array([[0, 1, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=np.float32))
    lists = [np.array([3, 2]), np.array([4, 2])]  # user 0 hits at rank 1, user 1 misses
    got = ranking_metrics(lists, test, np.array([0, 1]), k=2, n_items=5)
    ideal = 1 + 1 / np.log2(3)
    assert got == pytest.approx({"precision@2": 0.25, "recall@2": 0.25, "ndcg@2": 0.5 / ideal,
                                 "hit_rate@2": 0.5, "coverage@2": 0.6})


@pytest.fixture(scope="module")
def demo_manifests(tmp_path_factory):
    manifests = {}
    for (name, version), build in DEMOS.items():
        folder = tmp_path_factory.mktemp(f"{name}-{version}")
        build(folder)
        manifests[version] = json.loads((folder / "model.json").read_text())
    return manifests


def test_every_demo_version_beats_the_popularity_baseline_held_out(demo_manifests):
    for manifest in demo_manifests.values():
        model, popular = manifest["metrics"], manifest["baseline"]["metrics"]
        for metric in ("precision@10", "recall@10", "ndcg@10", "hit_rate@10", "coverage@10"):
            assert model[metric] > popular[metric], (manifest["recommendation"]["method"], metric)


def test_demo_manifests_say_what_a_service_needs(demo_manifests):
    methods = {v: m["recommendation"]["method"] for v, m in demo_manifests.items()}
    assert methods == {1: "user_cosine", 2: "item_cosine", 3: "svd"}
    for manifest in demo_manifests.values():
        assert manifest["task"] == "recommendation"
        assert manifest["framework"] == "recommend"
        assert manifest["evaluation"]["users_evaluated"] > 1000
        assert manifest["recommendation"]["users"] == 2000


def test_the_demo_is_the_same_on_every_build(demo_manifests, tmp_path):
    DEMOS[("movies", 3)](tmp_path)
    again = json.loads((tmp_path / "model.json").read_text())
    assert again == demo_manifests[3]

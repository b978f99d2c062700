"""Drift tests chosen as Evidently chooses them, on samples known to be shifted or not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from webapp.serving.monitoring.drift import column_drift, dataset_drift, psi
from webapp.serving.monitoring.settings import DriftThresholds

T = DriftThresholds()


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_small_numeric_reference_uses_kolmogorov_smirnov():
    ref = rng(1).normal(0, 1, 800)
    same = column_drift(ref, rng(2).normal(0, 1, 500), T)
    shifted = column_drift(ref, rng(3).normal(0.5, 1, 500), T)
    assert same["method"] == shifted["method"] == "kolmogorov_smirnov"
    assert not same["drifted"]
    assert same["score"] > 0.05
    assert shifted["drifted"]
    assert shifted["score"] < 1e-6


def test_large_numeric_reference_uses_normalised_wasserstein():
    ref = rng(1).normal(10, 2, 5000)
    same = column_drift(ref, rng(2).normal(10, 2, 1000), T)
    shifted = column_drift(ref, rng(3).normal(11, 2, 1000), T)  # half a standard deviation
    assert same["method"] == "wasserstein_normed"
    assert same["score"] < 0.1
    assert not same["drifted"]
    assert shifted["score"] == pytest.approx(0.5, abs=0.1)
    assert shifted["drifted"]


def test_low_cardinality_uses_chi_square_and_large_references_jensen_shannon():
    ref = rng(1).choice([1, 2, 3, 4], 900, p=[0.4, 0.3, 0.2, 0.1])
    same = column_drift(ref, rng(2).choice([1, 2, 3, 4], 400, p=[0.4, 0.3, 0.2, 0.1]), T)
    moved = column_drift(ref, rng(3).choice([1, 2, 3, 4], 400, p=[0.1, 0.2, 0.3, 0.4]), T)
    assert (same["kind"], same["method"], same["drifted"]) == ("categorical", "chi_square", False)
    assert moved["drifted"]
    big = rng(4).choice([1, 2, 3, 4], 3000, p=[0.4, 0.3, 0.2, 0.1])
    large = column_drift(big, rng(3).choice([1, 2, 3, 4], 400, p=[0.1, 0.2, 0.3, 0.4]), T)
    assert large["method"] == "jensen_shannon"
    assert large["drifted"]


def test_binary_uses_the_two_proportion_z_test():
    ref = rng(1).binomial(1, 0.3, 600)
    assert column_drift(ref, rng(2).binomial(1, 0.3, 300), T)["drifted"] is False
    moved = column_drift(ref, rng(3).binomial(1, 0.6, 300), T)
    assert (moved["method"], moved["drifted"]) == ("z_test", True)


def test_a_manifest_can_declare_a_feature_categorical():
    ref = rng(1).integers(0, 20, 800)
    assert column_drift(ref, rng(2).integers(0, 20, 400), T, categorical=True)["method"] == "chi_square"


def test_psi_is_near_zero_unshifted_and_large_shifted():
    ref = rng(1).normal(0, 1, 1000)
    assert psi(ref, rng(2).normal(0, 1, 1000), 30, False) < 0.1
    assert psi(ref, rng(3).normal(1, 1, 1000), 30, False) > 0.25
    column = column_drift(ref, rng(3).normal(1, 1, 1000), T)
    assert column["psi_drifted"]


def test_thresholds_are_configurable():
    ref, cur = rng(1).normal(0, 1, 800), rng(3).normal(0.15, 1, 500)
    assert column_drift(ref, cur, DriftThresholds(p_value=0.05))["drifted"]
    assert not column_drift(ref, cur, DriftThresholds(p_value=1e-9))["drifted"]


def test_too_few_current_rows_give_no_verdict():
    result = column_drift(rng(1).normal(0, 1, 100), [0.1] * 10, T)
    assert result["verdict"] is False
    assert "fewer than 30" in result["reason"]


def test_histograms_share_bins_and_sum_to_one():
    result = column_drift(rng(1).normal(0, 1, 500), rng(2).normal(1, 1, 200), T)
    h = result["histogram"]
    assert len(h["edges"]) == len(h["reference"]) + 1 == len(h["current"]) + 1
    assert sum(h["reference"]) == pytest.approx(1, abs=1e-4)
    assert sum(h["current"]) == pytest.approx(1, abs=1e-4)
    cats = column_drift([1, 2, 2, 3] * 50, [1, 1, 2, 3] * 20, T)["histogram"]
    assert cats["categories"] == [1, 2, 3]


def test_the_dataset_drifts_when_at_least_half_its_features_do():
    ref = rng(1).normal(0, 1, (600, 4))
    cur = rng(2).normal(0, 1, (300, 4))
    cur[:, 0] += 1
    one = dataset_drift({f"f{i}": column_drift(ref[:, i], cur[:, i], T) for i in range(4)}, T)
    assert one["drifted_features"] == ["f0"]
    assert not one["drifted"]
    cur[:, 1] += 1
    two = dataset_drift({f"f{i}": column_drift(ref[:, i], cur[:, i], T) for i in range(4)}, T)
    assert two["drifted_share"] == 0.5
    assert two["drifted"]


def test_iris_training_sample_against_its_held_out_rows_and_a_shifted_copy(demo_store):
    reference = np.array(json.loads((demo_store / "iris/1/reference.json").read_text())["x"])
    held = np.array(json.loads((demo_store / "iris/1/heldout.json").read_text())["x"])
    unshifted = dataset_drift({str(i): column_drift(reference[:, i], held[:, i], T) for i in range(4)}, T)
    assert unshifted["drifted_features"] == []
    shifted = held.copy()
    shifted[:, 2] += 1.5  # petal length, about 0.85 of its standard deviation
    result = dataset_drift({str(i): column_drift(reference[:, i], shifted[:, i], T) for i in range(4)}, T)
    assert result["drifted_features"] == ["2"]

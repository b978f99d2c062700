"""Live quality figures and the label-free accuracy estimate (CBPE) on a real held-out set."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss
from sklearn.model_selection import train_test_split

from webapp.serving.monitoring.cbpe import Calibrator
from webapp.serving.monitoring.quality import classifier_quality, regressor_quality
from webapp.serving.monitoring.significance import proportions, wilson


def test_classifier_quality_matches_scikit_learn():
    labels = ["a", "b", "c"]
    truth = ["a", "b", "c", "a", "b", "c"]
    predicted = ["a", "b", "b", "a", "c", "c"]
    probs = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5],
             [0.1, 0.1, 0.8]]
    q = classifier_quality(labels, predicted, truth, probs)
    assert q["labelled"] == 6
    assert q["correct"] == 4
    assert q["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert q["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-4)
    assert q["log_loss"] == pytest.approx(log_loss([0, 1, 2, 0, 1, 2], probs), abs=1e-4)


def test_regressor_quality_is_mae_and_rmse():
    q = regressor_quality([1.0, 2.0, 5.0], [1.0, 4.0, 1.0])
    assert q == {"labelled": 3, "mae": 2.0, "rmse": pytest.approx(np.sqrt(20 / 3), abs=1e-4)}


def test_no_labels_no_figures():
    assert classifier_quality(["a", "b"], [], [], []) == {"labelled": 0}
    assert regressor_quality([], []) == {"labelled": 0}


@pytest.fixture(scope="module")
def digits_model():
    """A real classifier with a calibration (held-out) split and an unseen test split."""
    data = load_digits()
    x_tr, x_rest, y_tr, y_rest = train_test_split(data.data, data.target, train_size=900,
                                                  random_state=0, stratify=data.target)
    x_cal, x_te, y_cal, y_te = train_test_split(x_rest, y_rest, train_size=400, random_state=0,
                                                stratify=y_rest)
    model = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
    return model, Calibrator(model.predict_proba(x_cal), y_cal), x_te, y_te


def test_cbpe_estimates_accuracy_on_an_unshifted_sample(digits_model):
    model, calibrator, x_te, y_te = digits_model
    probs = model.predict_proba(x_te)
    true_accuracy = float((probs.argmax(axis=1) == y_te).mean())
    estimate = calibrator.estimate(probs.max(axis=1), chunks=4)
    assert estimate["rows"] == len(y_te)
    assert estimate["accuracy"] == pytest.approx(true_accuracy, abs=0.03)
    assert len(estimate["chunks"]) == 4
    assert "concept drift" in estimate["limits"]


def test_cbpe_falls_when_inputs_get_noisy(digits_model):
    model, calibrator, x_te, y_te = digits_model
    noisy = x_te + np.random.default_rng(0).normal(0, 6, x_te.shape)
    clean = calibrator.estimate(model.predict_proba(x_te).max(axis=1))["accuracy"]
    worse = calibrator.estimate(model.predict_proba(noisy).max(axis=1))["accuracy"]
    assert worse < clean - 0.03


def test_cbpe_needs_enough_held_out_rows():
    with pytest.raises(ValueError, match="at least 20"):
        Calibrator(np.full((5, 2), 0.5), np.zeros(5))


def test_proportion_tests_and_intervals():
    same = proportions([50, 52], [1000, 1000])
    apart = proportions([50, 120], [1000, 1000])
    assert same["test"] == "two_proportion_z_test"
    assert not same["significant"]
    assert apart["significant"]
    assert apart["p_value"] < 1e-6
    assert proportions([5, 9, 30], [100, 100, 100])["test"] == "chi_square"
    low, high = wilson(0, 20)
    assert low == 0.0
    assert 0.1 < high < 0.2

"""The numpy isotonic fit and quality figures agree with scikit-learn's, which workers no longer import."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score, log_loss

from webapp.serving.monitoring.isotonic import Isotonic
from webapp.serving.monitoring.quality import classifier_quality


@pytest.mark.parametrize("seed", range(6))
def test_isotonic_fit_reads_like_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0.3, 1.0, 400), 2)  # rounded: many tied confidences, as real scores have
    y = (rng.uniform(size=400) < x).astype(float)
    ours = Isotonic(x, y)
    theirs = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    probe = np.linspace(0.0, 1.2, 301)  # inside, between and outside the fitted points
    np.testing.assert_allclose(ours.predict(probe), theirs.predict(probe), atol=1e-12)
    assert np.all(np.diff(ours.predict(probe)) >= 0)


def test_isotonic_refuses_mismatched_input():
    with pytest.raises(ValueError, match="equally long"):
        Isotonic(np.array([0.1, 0.2]), np.array([1.0]))


def test_macro_f1_and_log_loss_match_scikit_learn_with_classes_missing_on_one_side():
    rng = np.random.default_rng(3)
    labels = ["a", "b", "c", "d"]
    truth = list(rng.choice(["a", "b", "c"], 200))  # "d" never true
    predicted = list(rng.choice(["a", "b", "d"], 200))  # "c" never predicted
    probs = rng.dirichlet(np.ones(4), 200)
    q = classifier_quality(labels, predicted, truth, probs.tolist())
    seen = sorted(set(truth) | set(predicted))
    assert q["macro_f1"] == pytest.approx(
        f1_score(truth, predicted, labels=seen, average="macro", zero_division=0), abs=1e-4)
    assert q["log_loss"] == pytest.approx(
        log_loss([labels.index(t) for t in truth], probs, labels=range(4)), abs=1e-4)
    assert q["accuracy"] == pytest.approx(np.mean(np.array(truth) == np.array(predicted)), abs=1e-4)

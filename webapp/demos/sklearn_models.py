"""The scikit-learn demos: iris (two versions that differ only in the estimator) and diabetes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webapp.demos.building import SEED, save_skops, split, tabular_manifest, write


def _iris(folder: Path, model: Any, kind: str) -> None:
    """Fit `model` on iris and write it as a version: both iris versions differ only in the model."""
    from sklearn.datasets import load_iris
    from sklearn.metrics import accuracy_score

    data = load_iris()
    x_tr, x_te, y_tr, y_te = split(data.data, data.target)
    model.fit(x_tr, y_tr)
    save_skops(folder, model)
    write(folder, tabular_manifest(
        "sklearn", "model.skops", "classification", list(data.feature_names), data.data,
        f"Iris species from sepal and petal measurements ({kind}).",
        {"accuracy": accuracy_score(y_te, model.predict(x_te))}, "sklearn.datasets.load_iris",
        list(data.target_names)), x_te, y_te, x_tr, y_tr)


def iris_v1(folder: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _iris(folder, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
          "scaler + logistic regression")


def iris_v2(folder: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    _iris(folder, RandomForestClassifier(n_estimators=50, random_state=SEED), "random forest, 50 trees")


def diabetes_v1(folder: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    data = load_diabetes()
    x_tr, x_te, y_tr, y_te = split(data.data, data.target, stratify=False)
    model = GradientBoostingRegressor(n_estimators=100, max_depth=2, random_state=SEED)
    model.fit(x_tr, y_tr)
    pred = model.predict(x_te)
    write(folder, tabular_manifest(
        "sklearn", "model.skops", "regression", list(data.feature_names), data.data,
        "Disease progression one year after baseline (gradient boosting regressor).",
        {"r2": r2_score(y_te, pred), "mae": mean_absolute_error(y_te, pred)},
        "sklearn.datasets.load_diabetes"), x_te, y_te, x_tr, y_tr)
    save_skops(folder, model)



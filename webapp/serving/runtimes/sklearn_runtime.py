"""scikit-learn models from `.skops` files (or pickle/joblib when an operator trusts the model)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec
from webapp.serving.runtimes.native_checks import check_estimator
from webapp.serving.runtimes.skops_types import check_names, names_in_schema, read_schema


def load_skops(path: str, extension: Collection[str] = ()) -> tuple[Any, list[str]]:
    """Load a skops file naming only allowlisted types (plus `extension`, which an operator trusts
    for this model); (estimator, names only the extension admitted). Raises InvalidInput."""
    import skops.io as sio

    names = names_in_schema(read_schema(path))
    by_operator = check_names(names, extension)
    try:
        estimator = sio.load(path, trusted=sorted(names))
    except Exception as exc:  # skops and numpy raise many kinds on a corrupt or hostile file
        raise InvalidInput(f"Cannot load skops artifact: {type(exc).__name__}: {exc}") from exc
    check_estimator(estimator)
    return estimator, by_operator


@dataclass
class SklearnRuntime:
    estimator: Any
    proba: bool
    path: str = "sklearn"
    operator_types: tuple[str, ...] = ()  # names only PODIUM_TRUSTED_TYPES admitted

    @classmethod
    def load(cls, spec: ModelSpec, *, trusted: bool = False,
             extension: Collection[str] = ()) -> SklearnRuntime:
        artifact = str(spec.artifact_path)
        by_operator: list[str] = []
        if spec.artifact.endswith(".skops"):
            estimator, by_operator = load_skops(artifact, extension)
        elif trusted:
            import joblib

            estimator = joblib.load(artifact)
        else:
            raise InvalidInput(
                f"{spec.artifact} is a pickle; it loads only when an operator lists "
                f"{spec.name!r} in PODIUM_TRUSTED_MODELS"
            )
        is_classifier = spec.task == "classification"
        if is_classifier and not hasattr(estimator, "predict_proba"):
            raise InvalidInput("The classifier has no predict_proba")
        n_in = getattr(estimator, "n_features_in_", None)
        if n_in is not None and n_in != len(spec.features):
            raise InvalidInput(
                f"The manifest names {len(spec.features)} features but the model expects {n_in}"
            )
        if is_classifier and len(getattr(estimator, "classes_", ())) != len(spec.labels):
            raise InvalidInput(
                f"The manifest names {len(spec.labels)} labels but the model has "
                f"{len(estimator.classes_)} classes"
            )
        return cls(estimator=estimator, proba=is_classifier, operator_types=tuple(by_operator))

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.proba:
            return np.asarray(self.estimator.predict_proba(batch), dtype=np.float32)
        return np.asarray(self.estimator.predict(batch), dtype=np.float32)

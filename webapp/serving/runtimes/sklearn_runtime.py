"""scikit-learn models from `.skops` files (or pickle/joblib when an operator trusts the model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec

# Types a skops file may name: estimators and their building blocks, never arbitrary callables.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "collections.OrderedDict")
TRUSTED_EXACT = {"builtins.slice", "builtins.tuple"}


def _is_trusted(type_name: str) -> bool:
    return type_name in TRUSTED_EXACT or type_name.startswith(TRUSTED_PREFIXES)


def load_skops(path: str) -> Any:
    """Load a skops file, trusting only scikit-learn/numpy types; raises InvalidInput otherwise."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many kinds on a corrupt file
        raise InvalidInput(f"Cannot read skops artifact: {exc}") from exc
    refused = [t for t in untrusted if not _is_trusted(t)]
    if refused:
        raise InvalidInput(f"skops artifact names types outside the allowlist: {refused[:5]}")
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise InvalidInput(f"Cannot load skops artifact: {exc}") from exc


@dataclass
class SklearnRuntime:
    estimator: Any
    proba: bool
    path: str = "sklearn"

    @classmethod
    def load(cls, spec: ModelSpec, *, trusted: bool = False) -> SklearnRuntime:
        artifact = str(spec.artifact_path)
        if spec.artifact.endswith(".skops"):
            estimator = load_skops(artifact)
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
        return cls(estimator=estimator, proba=is_classifier)

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.proba:
            return np.asarray(self.estimator.predict_proba(batch), dtype=np.float32)
        return np.asarray(self.estimator.predict(batch), dtype=np.float32)

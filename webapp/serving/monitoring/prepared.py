"""What the monitor computes once per version: reference columns, reference answers, the calibrator.

Building it runs the model on the reference and held-out rows (in the background job, through the
`predict` the wiring supplies), so it is cached per version and rebuilt only for a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from webapp.serving.models.spec import ModelSpec

from .cbpe import Calibrator
from .reference import load_heldout, load_reference
from .rows import IMAGE_STATS, image_stats

log = logging.getLogger(__name__)
Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class VersionSource:
    """A served version as the monitor needs it: its manifest and a thread-safe way to predict."""

    spec: ModelSpec
    predict: Predict  # float32 batch -> raw output (probabilities or values)


@dataclass
class Prepared:
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # reference values per feature
    answers: list[Any] = field(default_factory=list)  # the model's answers on the reference rows
    reference_source: str | None = None
    reference_rows: int = 0
    calibrator: Calibrator | None = None
    calibration_problem: str | None = None


def answers_of(spec: ModelSpec, output: np.ndarray) -> list[Any]:
    """Labels (classifiers) or values (regressors) from raw outputs."""
    output = np.asarray(output)
    if spec.task == "classification":
        return [spec.labels[i] for i in np.argmax(output, axis=1)]
    return [float(v) for v in output.reshape(len(output), -1)[:, 0]]


def feature_columns(spec: ModelSpec, x: np.ndarray) -> dict[str, np.ndarray]:
    """Reference columns by feature name; image tensors become brightness, contrast and ink."""
    if spec.image is not None:
        stats = [image_stats(t, spec.image.scale) for t in x]
        return {name: np.array([s[name] for s in stats]) for name in IMAGE_STATS}
    return {name: x[:, i] for i, name in enumerate(spec.feature_names) if i < x.shape[1]}


def _batch(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    return x.reshape((len(x), *spec.input_shape)).astype(np.float32)


def prepare(source: VersionSource) -> Prepared:
    """Reference columns and answers, and a CBPE calibrator for classifiers (None with a reason)."""
    spec, out = source.spec, Prepared()
    sample = load_reference(spec.path)
    if sample is not None and len(sample.x):
        out.columns = feature_columns(spec, sample.x.reshape((len(sample.x), *spec.input_shape)))
        out.reference_source, out.reference_rows = sample.source, len(sample.x)
        out.answers = _safely(lambda: answers_of(spec, source.predict(_batch(spec, sample.x))), [])
    if spec.task == "classification":
        out.calibrator, out.calibration_problem = _calibrate(source)
    return out


def _calibrate(source: VersionSource) -> tuple[Calibrator | None, str | None]:
    spec = source.spec
    held = load_heldout(spec.path)
    if held is None:
        return None, "the version has no held-out rows with labels (heldout.json)"
    truth = np.array([truth_index(spec.labels, y) for y in held.y.tolist()])
    try:
        return Calibrator(source.predict(_batch(spec, held.x)), truth), None
    except Exception as exc:  # too few rows, or the version stopped serving meanwhile
        return None, str(exc)


def truth_index(labels: tuple[str, ...] | list[str], y: Any) -> int:
    """A stored label as a class index: the label itself, else an integer class index, else -1."""
    text = str(y)
    if text in labels:
        return list(labels).index(text)
    if isinstance(y, int | float) and float(y).is_integer() and 0 <= int(y) < len(labels):
        return int(y)
    return -1


def _safely(work: Callable[[], Any], default: Any) -> Any:
    try:
        return work()
    except Exception as exc:
        log.warning("Monitor could not predict on reference rows: %s", exc)
        return default

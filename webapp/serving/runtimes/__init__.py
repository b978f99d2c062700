"""One runtime per framework: load an artifact safely and run a batch on the fastest correct path.

Frameworks are imported lazily, so a worker that serves only scikit-learn never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec


class Runtime(Protocol):
    """A loaded model: `run` maps a float32 batch to probabilities (classifier) or values."""

    path: str  # which call path serves it, shown in metadata and stats

    def run(self, batch: np.ndarray) -> np.ndarray: ...


def check_artifact(artifact: str, file: str | Path | BinaryIO, extension: Collection[str] = ()) -> None:
    """The checks that need no framework and run no model code, done before any process loads one:
    a `.skops` file's size and type names, a `.keras` archive's members and size. Raises InvalidInput."""
    if artifact.endswith(".skops"):
        from .skops_types import check_names, names_in_schema, read_schema

        check_names(names_in_schema(read_schema(file)), extension)
    elif artifact.endswith(".keras"):
        from .keras_runtime import check_keras_archive

        check_keras_archive(file)  # zipfile takes a path or an open file alike


def load_runtime(spec: ModelSpec, *, trusted: bool = False, threads: int = 1,
                 extension: Collection[str] = ()) -> Runtime:
    """Load the version's artifact with the framework's safe loader; raises InvalidInput if refused.

    `extension`: skops type names the operator trusts for this model beyond the allowlist.
    """
    if spec.framework == "keras":
        from .keras_runtime import KerasRuntime

        return KerasRuntime.load(spec, threads=threads)
    if spec.framework == "sklearn":
        from .sklearn_runtime import SklearnRuntime

        return SklearnRuntime.load(spec, trusted=trusted, extension=extension)
    if spec.framework == "recommend":
        from webapp.serving.recommend import Recommender

        return Recommender.load(spec.path, spec.raw)
    if spec.framework == "chat":
        from webapp.serving.chat import load_chat

        return load_chat(spec.path, spec.raw)
    raise InvalidInput(f"Unknown framework {spec.framework!r}")


def warm_up(spec: ModelSpec, runtime: Runtime) -> None:
    """Answer one prediction before a version may serve, and check the output's width; raises
    InvalidInput when the model answers the wrong shape or non-finite numbers. A recommender answers
    its most popular item; a chat is not called (an upstream's health is not the version's)."""
    if spec.task == "recommendation":
        runtime.popular(1)  # type: ignore[attr-defined]
        return
    if spec.task == "chat":
        return
    out = runtime.run(np.zeros((1, *spec.input_shape), dtype=np.float32))
    if spec.task == "classification" and (out.ndim != 2 or out.shape[1] != len(spec.labels)):
        raise InvalidInput(f"Warm-up gave output shape {out.shape}, expected [1, {len(spec.labels)}]")
    if not np.all(np.isfinite(out)):
        raise InvalidInput("Warm-up gave non-finite output")

"""The plain values that cross the service boundary: what a request names, what the model answered,
and a model as one worker serves it. Adapters build and read these; nothing here holds a runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from webapp.serving.inputs import Inputs
from webapp.serving.loaded import ServedVersion, VersionStatus
from webapp.serving.models.spec import ModelSpec
from webapp.serving.models.versions import labels_of
from webapp.serving.scheduling.timing import Timings


@runtime_checkable
class Question(Protocol):
    """A call to a model kind that takes no tensor (a recommender, a chat): what a decoder returns for
    one. `task` names the kind it is for; `ask` runs it on the version's loaded backend (the spec
    names the version, for the kind's own metrics)."""

    task: str

    def ask(self, backend: Any, spec: ModelSpec) -> Any: ...


Decoder = Callable[[ModelSpec], "Inputs | Question"]


@dataclass(frozen=True)
class Target:
    """What a request names: a model, maybe a version or a label, and who asks (for a split)."""

    model: str
    version: int | None = None
    label: str | None = None
    caller: str | None = None


@dataclass(frozen=True)
class Answer:
    """A model's answer: probabilities (classifier) or values (regressor), and what answered.

    `chosen_by` says how the version was picked: "version", "label", "split" or "default";
    `batch` is the input as the model saw it (after image preprocessing); `timings` where the
    time went inside the core (queue wait, decode, compute). For a recommender or a chat, `values`
    is what its `Question` answered and `batch` is None.
    """

    values: Any
    served: ServedVersion
    chosen_by: str
    batch: np.ndarray | None
    timings: Timings = Timings()

    @property
    def version(self) -> int:
        return self.served.version

    @property
    def spec(self) -> ModelSpec:
        return self.served.spec

    def top_labels(self) -> list[str]:
        return [self.spec.labels[i] for i in np.argmax(self.values, axis=1)]


@dataclass(frozen=True)
class ModelStatus:
    """A model as one worker serves it, copied at one moment."""

    name: str
    versions: dict[int, VersionStatus]
    stored: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)
    default_version: int | None = None

    @property
    def labels(self) -> dict[str, int]:
        return labels_of(self.config)

    @property
    def ready(self) -> bool:
        return bool(self.versions) and all(v.ready for v in self.versions.values())

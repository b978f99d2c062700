"""ModelService: the one object every adapter talks to, through one call per prediction.

`predict(target, decode)` resolves the version a request names (a traffic split by the caller),
takes the version's queue place, runs the adapter's decoder inside it, converts the input once,
predicts, and returns the answer with a read-only summary of the version that answered. Adapters
never hold a loaded version or a runtime; reading calls return copies (`ModelStatus`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from webapp.serving.boundary import Answer, Decoder, ModelStatus, Target
from webapp.serving.errors import ModelNotFound, ModelUnavailable
from webapp.serving.inputs import DEFAULT_MAX_PIXELS, Limits, to_batch
from webapp.serving.loaded import LoadedVersion, VersionStatus
from webapp.serving.loader import LoadOptions, Model, StoreWatcher
from webapp.serving.models.store import ModelStore
from webapp.serving.models.versions import choose_split_version, labels_of
from webapp.serving.sandbox import DEFAULT_LIMITS, TrialLimits
from webapp.serving.scheduling.scheduler import Policy

__all__ = ["Answer", "Decoder", "ModelService", "ModelStatus", "ServingOptions", "Target"]

@dataclass(frozen=True)
class ServingOptions:
    poll_interval: float = 2.0
    trusted_models: frozenset[str] = frozenset()
    # skops type names an operator trusts per model beyond the allowlist (PODIUM_TRUSTED_TYPES)
    trusted_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    trial: TrialLimits = DEFAULT_LIMITS  # what a sandboxed trial or conversion process may use
    max_batch_rows: int = 10_000
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    framework_threads: int = 1
    accelerate: bool = True
    accelerate_timeout: float = 300.0
    quantize: tuple[str, ...] = ()  # quantized forms to try when a manifest names none
    policy: Policy = Policy()  # batching, shedding and cache defaults; manifests override

    def load_options(self) -> LoadOptions:
        return LoadOptions(self.trusted_models, self.framework_threads, self.accelerate,
                           self.accelerate_timeout, self.policy, self.trusted_types, self.trial,
                           self.quantize)


class ModelService:
    """Resolve and predict; read what this worker serves. Thread-safe; one per worker process."""

    def __init__(self, store_root: str, options: ServingOptions | None = None) -> None:
        self.store = ModelStore(store_root)
        self.options = options or ServingOptions()
        self.limits = Limits(self.options.max_batch_rows, self.options.max_image_pixels)
        self._models: dict[str, Model] = {}  # replaced whole on change: readers need no lock
        self._read_once = threading.Event()
        self._watcher = StoreWatcher(self.store, self.options.load_options(),
                                     self.options.poll_interval, self._take)
        self.started_at = time.time()

    def _take(self, models: dict[str, Model], complete: bool) -> None:
        self._models = models
        if complete:
            self._read_once.set()

    def start(self) -> None:
        """Load the store and keep polling it (call after the worker has forked)."""
        self._watcher.start()

    def wait_loaded(self, timeout: float | None) -> bool:
        """Wait until the whole store has been read and loaded once; False when `timeout` passed."""
        return self._read_once.wait(timeout)

    def refresh(self) -> None:
        """Bring this worker in step with the store now (lifecycle changes, tests, the CLI)."""
        self._watcher.refresh()

    # -- predicting ---------------------------------------------------------------------------
    def predict(self, target: Target, decode: Decoder) -> Answer:
        """Answer one request; raises ServingError subclasses with a caller-facing message."""
        lv, chosen_by = self._resolve(target)
        scheduler, served = lv.scheduler, lv.served
        assert scheduler is not None  # an AVAILABLE version always has both
        assert served is not None
        with scheduler.slot():  # a full queue refuses before the body is decoded
            started, ok, rows = time.perf_counter(), False, 0
            try:
                batch = to_batch(served.spec, decode(served.spec), self.limits)
                rows = len(batch)
                values = scheduler.answer(batch)
                ok = True
            finally:
                lv.counters.record(time.perf_counter() - started, rows, ok)
        return Answer(values, served, chosen_by, batch)

    def run_batch(self, model: str, version: int, batch: np.ndarray) -> np.ndarray:
        """Run a ready batch on one AVAILABLE version, off the request path and uncounted.

        For background work (the monitor's answers on reference rows, its calibration on held-out
        rows): no queue place, no per-version counters, no request metrics, so it never shows up
        as traffic. Raises ModelNotFound, or ModelUnavailable when the version cannot answer.
        """
        lv = self._lookup(self._model(model), version, None)
        if not lv.ready:
            raise ModelUnavailable(f"Model {lv.name} version {lv.version} is {lv.state.value}")
        return lv.run(batch)

    def _resolve(self, target: Target) -> tuple[LoadedVersion, str]:
        model = self._model(target.model)
        version, chosen_by = target.version, "version"
        if target.label is not None:
            chosen_by = "label"
        elif version is None:
            split = model.split
            version, chosen_by = (choose_split_version(split, target.caller) if split else None), "split"
            if version is None:
                chosen_by = "default"
        lv = self._lookup(model, version, target.label)
        if not lv.ready:
            detail = f": {lv.reason}" if lv.reason else ""
            raise ModelUnavailable(f"Model {lv.name} version {lv.version} is {lv.state.value}{detail}")
        return lv, chosen_by

    # -- reading ------------------------------------------------------------------------------
    def models(self) -> dict[str, ModelStatus]:
        """Every model this worker holds, as copies."""
        return {name: _status(model) for name, model in self._models.items()}

    def model(self, name: str) -> ModelStatus:
        """One model, as a copy; raises ModelNotFound (ModelUnavailable while booting)."""
        return _status(self._model(name))

    def has_model(self, name: str) -> bool:
        return name in self._models

    def version(self, target: Target, available: bool = True) -> VersionStatus:
        """The version a request names: AVAILABLE only (a split applies), or in any state.

        Raises ModelNotFound, or ModelUnavailable when it (or every version) cannot answer.
        """
        if available:
            return self._resolve(target)[0].status()
        return self._lookup(self._model(target.model), target.version, target.label).status()

    def ready(self) -> bool:
        """Ready when the store has been read and every version it should serve is AVAILABLE."""
        return self._read_once.is_set() and all(
            _ready(model) for model in self._models.values() if model.versions)

    def _model(self, name: str) -> Model:
        model = self._models.get(name)
        if model is None:
            if not self._read_once.is_set():  # a booting worker has not read the whole store yet
                raise ModelUnavailable("Podium is still loading its models; retry shortly")
            raise ModelNotFound(name)
        return model

    @staticmethod
    def _lookup(model: Model, version: int | None, label: str | None) -> LoadedVersion:
        if label is not None:
            version = labels_of(model.config).get(label)
            if version is None:
                raise ModelNotFound(model.name, label=label)
        elif version is None:
            version = model.default
            if version is None:
                states = ", ".join(f"{v}: {lv.state.value}" for v, lv in model.versions.items())
                raise ModelUnavailable(f"Model {model.name} has no available version "
                                       f"({states or 'none served'})")
        lv = model.versions.get(version)
        if lv is None:
            raise ModelNotFound(model.name, version)
        return lv


def _ready(model: Model) -> bool:
    return len(model.ready) == len(model.versions)


def _status(model: Model) -> ModelStatus:
    return ModelStatus(model.name, {v: lv.status() for v, lv in model.versions.items()},
                       model.stored, model.config, model.default)

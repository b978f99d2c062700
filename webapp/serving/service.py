"""ModelService: the one object every adapter talks to, through one call per prediction.

`predict(target, decode)` resolves the version a request names (a traffic split by the caller),
takes the version's queue place, runs the adapter's decoder inside it, converts the input once,
predicts, and returns the answer with a read-only summary of the version that answered. Adapters
never hold a loaded version or a runtime; reading calls return copies (`ModelStatus`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from webapp.serving.boundary import Answer, Decoder, ModelStatus, Question, Target
from webapp.serving.errors import InvalidInput, ModelNotFound, ModelUnavailable, NotServed
from webapp.serving.inputs import DEFAULT_MAX_PIXELS, Limits, to_batch
from webapp.serving.loaded import LoadedVersion, ServedVersion, State, VersionStatus
from webapp.serving.loader import LoadOptions, Model, StoreWatcher
from webapp.serving.models.spec import KIND_TASKS, ModelSpec
from webapp.serving.models.store import ModelStore
from webapp.serving.models.versions import choose_split_version, labels_of
from webapp.serving.sandbox import DEFAULT_LIMITS, TrialLimits
from webapp.serving.scheduling.scheduler import Policy
from webapp.serving.scheduling.timing import Timings

__all__ = ["Answer", "Decoder", "ModelService", "ModelStatus", "Question", "ServingOptions", "Target"]

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
            started, rows, timings = time.perf_counter(), 0, None
            try:
                inputs = decode(served.spec)
                decoded = time.perf_counter()
                if served.spec.task in KIND_TASKS.values():
                    values, batch, rows, waited = ask(served.spec, inputs, lv.runtime), None, 1, 0.0
                else:
                    batch = to_batch(served.spec, inputs, self.limits)
                    rows, decoded = len(batch), time.perf_counter()
                    values, waited = scheduler.answer_timed(batch)
                timings = Timings(waited, decoded - started, time.perf_counter() - decoded - waited)
            finally:
                lv.counters.record(time.perf_counter() - started, rows, timings is not None, timings)
        return Answer(values, served, chosen_by, batch, timings)

    def record_encode(self, served: ServedVersion, seconds: float) -> None:
        """Add an adapter's time to encode an answer to the version's figures (if still held)."""
        model = self._models.get(served.model)
        lv = model.versions.get(served.version) if model is not None else None
        if lv is not None:
            lv.counters.phases.add_encode(seconds)

    def run_batch(self, model: str, version: int, batch: np.ndarray) -> np.ndarray:
        """Run a ready batch on one AVAILABLE version, off the request path and uncounted.

        For background work (the monitor's answers on reference rows, its calibration on held-out
        rows): no queue place, no per-version counters, no request metrics, so it never shows up
        as traffic. Raises ModelNotFound, or ModelUnavailable when the version cannot answer.
        """
        lv = self._lookup(self._model(model), version, None)
        lv.require_ready(self._retry_after())
        return lv.run_background(batch)

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
        lv.require_ready(self._retry_after())
        return lv, chosen_by

    def _retry_after(self) -> int:
        """Seconds until the next look at the store: when a loading version may be ready."""
        return max(1, math.ceil(self.options.poll_interval))

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
                raise ModelUnavailable("Podium is still loading its models; retry shortly",
                                       self._retry_after())
            raise ModelNotFound(name)
        return model

    def _lookup(self, model: Model, version: int | None, label: str | None) -> LoadedVersion:
        if label is not None:
            version = labels_of(model.config).get(label)
            if version is None:
                raise ModelNotFound(model.name, label=label)
        elif version is None:
            version = model.default
            if version is None:
                self._no_default(model)
        lv = model.versions.get(version)
        if lv is None:
            raise ModelNotFound(model.name, version)
        return lv


    def _no_default(self, model: Model) -> None:
        """Why a model has no version to answer with: unloaded (404), loading (503, retry) or failed."""
        if not model.versions:
            why = "unloaded" if model.config.get("unloaded") else "no version is served"
            raise NotServed(model.name, reason=why)
        states = ", ".join(f"{v}: {lv.state.value}" for v, lv in model.versions.items())
        loading = any(lv.state is State.LOADING for lv in model.versions.values())
        raise ModelUnavailable(f"Model {model.name} has no available version ({states})",
                               self._retry_after() if loading else None)


def ask(spec: ModelSpec, question: object, backend: object) -> object:
    """Run a recommender's or chat's question; one meant for another kind is the caller's mistake."""
    if not isinstance(question, Question) or question.task != spec.task:
        raise InvalidInput(f"Model {spec.name} is a {spec.task} model: this call cannot ask it")
    return question.ask(backend, spec)


def _ready(model: Model) -> bool:
    return len(model.ready) == len(model.versions)


def _status(model: Model) -> ModelStatus:
    return ModelStatus(model.name, {v: lv.status() for v, lv in model.versions.items()},
                       model.stored, model.config, model.default)

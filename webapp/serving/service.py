"""ModelService: resolve (name, version | label) and predict, keep every worker in step with the store."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import acceleration, metrics, preprocessing
from .errors import InvalidInput, ModelNotFound, ModelUnavailable, PayloadTooLarge, ServingError
from .loaded import LoadedVersion, State, now
from .registry import choose_split_version, labels_of, split_of, versions_to_serve
from .scheduler import Policy, Scheduler
from .spec import ModelSpec, load_manifest
from .store import ModelStore, StoredModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingOptions:
    poll_interval: float = 2.0
    trusted_models: frozenset[str] = frozenset()
    max_batch_rows: int = 10_000
    max_image_pixels: int = preprocessing.DEFAULT_MAX_PIXELS
    framework_threads: int = 1
    accelerate: bool = True
    accelerate_timeout: float = 300.0
    policy: Policy = Policy()  # batching, shedding and cache defaults; manifests override


@dataclass(frozen=True)
class ModelView:
    """A snapshot of one model: the versions this worker holds and the store's config for it."""

    name: str
    versions: dict[int, LoadedVersion]
    stored: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, int]:
        return labels_of(self.config)

    @property
    def default_version(self) -> int | None:
        pinned = self.config.get("default_version")
        if isinstance(pinned, int) and pinned in self.versions and self.versions[pinned].ready:
            return pinned  # while a newly pinned version loads, the newest ready one keeps serving
        ready = [v for v, lv in self.versions.items() if lv.ready]
        return max(ready, default=None)

    @property
    def ready(self) -> bool:
        return bool(self.versions) and all(lv.ready for lv in self.versions.values())

    def split_version(self, caller: str | None) -> int | None:
        """The version a traffic split sends this caller to (AVAILABLE ones only), else None."""
        split = split_of(self.config) or {}
        live = {v: w for v, w in split.items() if v in self.versions and self.versions[v].ready}
        return choose_split_version(live, caller) if live else None


@dataclass(frozen=True)
class Prediction:
    """A model's raw answer for a batch: probabilities for classifiers, values for regressors."""

    name: str
    version: int
    spec: ModelSpec
    values: np.ndarray

    def top_labels(self) -> list[str]:
        return [self.spec.labels[i] for i in np.argmax(self.values, axis=1)]


class ModelService:
    """The one object the HTTP layers talk to. Thread-safe; one per worker process."""

    def __init__(self, store_root: str, options: ServingOptions | None = None) -> None:
        self.store = ModelStore(store_root)
        self.options = options or ServingOptions()
        self._models: dict[str, ModelView] = {}  # replaced whole on change: readers need no lock
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refreshed = threading.Event()
        self.started_at = time.time()

    # -- keeping in step with the store -------------------------------------------------------
    def start(self) -> None:
        """Load the store and poll it in a daemon thread (call after the worker has forked)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="podium-store-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait_loaded(self, timeout: float | None) -> bool:
        """Wait until the whole store has been read and loaded once; False when `timeout` passed."""
        return self._refreshed.wait(timeout)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # keep polling whatever one pass hit
                log.exception("Refreshing the model store failed")
            self._stop.wait(self.options.poll_interval)

    def refresh(self) -> None:
        """Load new versions, drop removed ones, pick up config changes; one pass, idempotent."""
        with self._refresh_lock:
            stored = self.store.scan()
            views = {name: self._reconcile(model) for name, model in stored.items()}
            for name in set(self._models) - set(views):  # a model folder was removed
                for lv in self._models[name].versions.values():
                    _retire(lv)
            self._models = views
            self._refreshed.set()

    def _reconcile(self, model: StoredModel) -> ModelView:
        current = self._models.get(model.name)
        held = dict(current.versions) if current else {}
        wanted = versions_to_serve(list(model.versions), model.config)
        versions: dict[int, LoadedVersion] = {}
        pinned = model.config.get("default_version")
        # the version that will serve by default loads first, so a booting worker never serves an older one
        for number in sorted(wanted, key=lambda v: (v != pinned, -v)):
            path = model.versions[number]
            identity = _identity(path)
            previous = held.get(number)
            if previous is not None and previous.identity == identity:
                versions[number] = previous
                continue
            versions[number] = self._load(model.name, number, path, identity)
            # publish each loaded version at once so readiness and routing see it early
            self._models = {**self._models, model.name: ModelView(
                model.name, {**held, **versions}, tuple(model.versions), model.config)}
        for number, gone in held.items():
            if versions.get(number) is not gone:
                _retire(gone)
        return ModelView(model.name, dict(sorted(versions.items())), tuple(model.versions), model.config)

    def _load(self, name: str, number: int, path: Any, identity: tuple[int, int]) -> LoadedVersion:
        started = time.perf_counter()
        lv = LoadedVersion(name, number, State.LOADING, identity=identity)
        try:
            spec = load_manifest(path, name, number)
            opts = self.options
            runtime, lv.acceleration = acceleration.load(
                spec, trusted=name in opts.trusted_models, threads=opts.framework_threads,
                enabled=opts.accelerate, timeout=opts.accelerate_timeout)
            lv.spec, lv.runtime = spec, runtime
            _warm_up(lv)
        except ServingError as exc:
            lv.state, lv.reason = State.FAILED, exc.message
            log.warning("Model %s version %s failed to load: %s", name, number, exc.message)
            return lv
        except Exception as exc:  # a broken artifact may raise anything; the worker must live on
            lv.state, lv.reason = State.FAILED, f"{type(exc).__name__}: {exc}"
            log.warning("Model %s version %s failed to load: %s", name, number, lv.reason)
            return lv
        lv.scheduler = Scheduler(name, number, runtime.run, self.options.policy.override(spec.raw))
        metrics.set_loaded(name, number, runtime.path, True)
        lv.state, lv.loaded_at = State.AVAILABLE, now()
        lv.load_seconds = time.perf_counter() - started
        lv.artifact_bytes = spec.artifact_path.stat().st_size
        log.info("Loaded %s version %s in %.2fs (%s)", name, number, lv.load_seconds, runtime.path)
        return lv

    # -- reading ------------------------------------------------------------------------------
    def models(self) -> dict[str, ModelView]:
        return self._models

    def model(self, name: str) -> ModelView:
        """The model's snapshot; raises ModelNotFound."""
        view = self._models.get(name)
        if view is None:
            if not self._refreshed.is_set():  # a booting worker has not read the whole store yet
                raise ModelUnavailable("Podium is still loading its models; retry shortly")
            raise ModelNotFound(name)
        return view

    def lookup(self, name: str, version: int | None = None, label: str | None = None) -> LoadedVersion:
        """The version a request names, in whatever state it is; raises ModelNotFound."""
        view = self.model(name)
        if label is not None:
            version = view.labels.get(label)
            if version is None:
                raise ModelNotFound(name, label=label)
        elif version is None:
            version = view.default_version
            if version is None:
                states = ", ".join(f"{v}: {lv.state.value}" for v, lv in view.versions.items())
                raise ModelUnavailable(f"Model {name} has no available version ({states or 'none served'})")
        lv = view.versions.get(version)
        if lv is None:
            raise ModelNotFound(name, version)
        return lv

    def resolve(self, name: str, version: int | None = None, label: str | None = None,
                caller: str | None = None) -> LoadedVersion:
        """The AVAILABLE version a request names; raises ModelNotFound or ModelUnavailable.

        `caller` (the user or the X-Request-Key header) keeps a caller on one side of a traffic split.
        """
        if version is None and label is None:
            version = self.model(name).split_version(caller)
        lv = self.lookup(name, version, label)
        if not lv.ready:
            detail = f": {lv.reason}" if lv.reason else ""
            raise ModelUnavailable(f"Model {name} version {lv.version} is {lv.state.value}{detail}")
        return lv

    # -- predicting ---------------------------------------------------------------------------
    def to_batch(self, spec: ModelSpec, instances: Any) -> np.ndarray:
        """Rows, encoded images (bytes) or a tensor → the model's float32 batch; raises InvalidInput."""
        if isinstance(instances, np.ndarray):
            batch = preprocessing.check_tensor(spec, instances)
        elif spec.image is not None and isinstance(instances, list) and all(
                isinstance(x, bytes | bytearray) for x in instances):
            self._check_rows(len(instances))
            batch = preprocessing.images_to_batch(spec, instances, self.options.max_image_pixels)
        elif spec.image is not None:
            try:
                array = np.asarray(instances)
            except ValueError as exc:
                raise InvalidInput(f"Ragged or mixed input: {exc}") from None
            batch = preprocessing.check_tensor(spec, array)
        else:
            self._check_rows(len(instances) if isinstance(instances, list) else 0)
            batch = preprocessing.rows_to_batch(spec, instances)
        self._check_rows(len(batch))
        if len(batch) == 0:
            raise InvalidInput(f"The batch is empty; {spec.name} expects at least one row")
        return batch

    def _check_rows(self, rows: int) -> None:
        if rows > self.options.max_batch_rows:
            raise PayloadTooLarge(f"The batch has {rows} rows; the limit is "
                                  f"{self.options.max_batch_rows}")

    def predict(self, name: str, instances: Any, version: int | None = None,
                label: str | None = None, caller: str | None = None) -> Prediction:
        """Run one batch; raises ServingError subclasses with a caller-facing message."""
        return self.predict_on(self.resolve(name, version, label, caller), instances)

    def predict_on(self, lv: LoadedVersion, instances: Any) -> Prediction:
        """Run one batch on a version the caller already resolved (so a request resolves once)."""
        assert lv.spec is not None
        name = lv.name
        started = time.perf_counter()
        ok, rows = False, 0
        try:
            with lv.slot():
                batch = self.to_batch(lv.spec, instances)
                rows = len(batch)
                values = lv.serve(batch)
            ok = True
            return Prediction(name, lv.version, lv.spec, values)
        finally:
            lv.counters.record(time.perf_counter() - started, rows, ok)

    # -- health -------------------------------------------------------------------------------
    def ready(self) -> bool:
        """Ready when the store has been read and every version it should serve is AVAILABLE."""
        return self._refreshed.is_set() and all(
            view.ready for view in self._models.values() if view.versions)


def _identity(path: Any) -> tuple[int, int]:
    try:
        st = (path / "model.json").stat()
    except OSError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)


def _retire(lv: LoadedVersion) -> None:
    """Stop a replaced or removed version's batcher and drop it from the loaded-versions gauge."""
    if lv.scheduler is not None:
        lv.scheduler.close()
    if lv.runtime is not None:
        metrics.set_loaded(lv.name, lv.version, lv.runtime.path, False)


def _warm_up(lv: LoadedVersion) -> None:
    """Answer one prediction before going AVAILABLE, and check the output's width."""
    spec = lv.spec
    assert spec is not None
    out = lv.run(np.zeros((1, *spec.input_shape), dtype=np.float32))
    if spec.task == "classification" and (out.ndim != 2 or out.shape[1] != len(spec.labels)):
        raise InvalidInput(f"Warm-up gave output shape {out.shape}, expected [1, {len(spec.labels)}]")
    if not np.all(np.isfinite(out)):
        raise InvalidInput("Warm-up gave non-finite output")

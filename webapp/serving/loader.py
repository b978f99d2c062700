"""Keep one worker in step with the store: load new versions, drop removed ones, follow config.

Every worker polls the store (as TF Serving polls its model folder), so a version published,
labelled or unloaded through any worker or instance sharing the store reaches all of them within
the poll interval. A version is AVAILABLE only after it loaded and answered a warm-up prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from webapp.serving.acceleration import choose
from webapp.serving.errors import ServingError
from webapp.serving.loaded import LoadedVersion, ServedVersion, State
from webapp.serving.models.audit import AUDIT_FILE, AuditLog
from webapp.serving.models.spec import load_manifest
from webapp.serving.models.store import ModelStore, StoredModel
from webapp.serving.models.versions import default_version, split_of, versions_to_serve
from webapp.serving.runtimes import warm_up
from webapp.serving.sandbox import DEFAULT_LIMITS, TrialLimits
from webapp.serving.scheduling.scheduler import Policy, Scheduler
from webapp.serving.telemetry import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    trusted_models: frozenset[str] = frozenset()
    framework_threads: int = 1
    accelerate: bool = True
    accelerate_timeout: float = 300.0
    policy: Policy = Policy()  # batching, shedding and cache defaults; manifests override
    trusted_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    trial: TrialLimits = DEFAULT_LIMITS
    quantize: tuple[str, ...] = ()  # quantized forms to try when a manifest names none


@dataclass(frozen=True)
class Model:
    """One model as this worker holds it: its loaded versions and the store's config for it.

    A snapshot: a change of state or config publishes a new one, so what requests derive from it
    (ready versions, the default, the split) is worked out once per snapshot, not per request.
    """

    name: str
    versions: dict[int, LoadedVersion]
    stored: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def ready(self) -> frozenset[int]:
        return frozenset(v for v, lv in self.versions.items() if lv.ready)

    @cached_property
    def default(self) -> int | None:
        return default_version(self.config, self.ready)

    @cached_property
    def split(self) -> dict[int, int] | None:
        """The split over the ready versions only, or None."""
        live = {v: w for v, w in (split_of(self.config) or {}).items() if v in self.ready}
        return live or None


class StoreWatcher:
    """Reconcile this worker's loaded versions with the store, once or in a polling thread."""

    def __init__(self, store: ModelStore, options: LoadOptions, poll_interval: float,
                 publish: Callable[[dict[str, Model], bool], None]) -> None:
        self.store, self.options, self.poll_interval = store, options, poll_interval
        self._publish = publish  # replaces the service's snapshot whole: readers need no lock
        self._models: dict[str, Model] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load the store and poll it in a daemon thread (call after the worker has forked)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="podium-store-poll", daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception:  # keep polling whatever one pass hit
                log.exception("Refreshing the model store failed")
            time.sleep(self.poll_interval)

    def refresh(self) -> None:
        """Load new versions, drop removed ones, pick up config changes; one pass, idempotent."""
        with self._lock:
            stored = self.store.scan()
            models = {name: self._reconcile(model) for name, model in stored.items()}
            for name in set(self._models) - set(models):  # a model folder was removed
                for lv in self._models[name].versions.values():
                    retire(lv)
            self._set(models, complete=True)

    def _set(self, models: dict[str, Model], complete: bool = False) -> None:
        """Hand the service a new snapshot; `complete` once the whole store has been read."""
        self._models = models
        self._publish(models, complete)

    def _reconcile(self, model: StoredModel) -> Model:
        current = self._models.get(model.name)
        held = dict(current.versions) if current else {}
        wanted = versions_to_serve(list(model.versions), model.config)
        versions: dict[int, LoadedVersion] = {}
        pinned = model.config.get("default_version")
        # the version that will serve by default loads first, so a booting worker never serves an older one
        for number in sorted(wanted, key=lambda v: (v != pinned, -v)):
            path = model.versions[number]
            previous = held.get(number)
            if previous is not None and previous.identity == identity(path):
                versions[number] = previous
                continue
            versions[number] = load_version(model.name, number, path, self.options)
            # publish each loaded version at once so readiness and routing see it early
            self._set({**self._models, model.name: Model(
                model.name, {**held, **versions}, tuple(model.versions), model.config)})
        for number, gone in held.items():
            if versions.get(number) is not gone:
                retire(gone)
        return Model(model.name, dict(sorted(versions.items())), tuple(model.versions), model.config)


def load_version(name: str, number: int, path: Path, options: LoadOptions) -> LoadedVersion:
    """Load, warm up and schedule one version; a failure gives a FAILED version with the reason."""
    started = time.perf_counter()
    lv = LoadedVersion(name, number, State.LOADING, identity=identity(path))
    try:
        spec = load_manifest(path, name, number)
        runtime, lv.acceleration = choose.load(
            spec, trusted=name in options.trusted_models, threads=options.framework_threads,
            enabled=options.accelerate, timeout=options.accelerate_timeout, limits=options.trial,
            extension=options.trusted_types.get(name, frozenset()), quantize=options.quantize)
        lv.spec, lv.runtime = spec, runtime
        warm_up(spec, runtime)
        note_operator_types(lv, path.parent.parent)
    except Exception as exc:  # a broken artifact may raise anything; the worker must live on
        lv.state = State.FAILED
        lv.reason = exc.message if isinstance(exc, ServingError) else f"{type(exc).__name__}: {exc}"
        log.warning("Model %s version %s failed to load: %s", name, number, lv.reason)
        return lv
    lv.scheduler = Scheduler(name, number, runtime.run, options.policy.override(spec.raw))
    lv.served = ServedVersion(name, number, spec, runtime.path)
    metrics.set_loaded(name, number, runtime.path, True)
    lv.state, lv.loaded_at = State.AVAILABLE, time.time()
    lv.load_seconds = time.perf_counter() - started
    lv.artifact_bytes = spec.artifact_path.stat().st_size
    log.info("Loaded %s version %s in %.2fs (%s)", name, number, lv.load_seconds, runtime.path)
    return lv


def note_operator_types(lv: LoadedVersion, store_root: Path) -> None:
    """Log and audit (once per version and set of names) a load that relied on the operator's
    PODIUM_TRUSTED_TYPES rather than the allowlist alone."""
    names = list(getattr(lv.runtime, "operator_types", ()) or lv.acceleration.get("operator_types", ()))
    if not names:
        return
    log.warning("Model %s version %s loads with types the operator trusts (PODIUM_TRUSTED_TYPES): %s",
                lv.name, lv.version, names)
    AuditLog(store_root / AUDIT_FILE).record_once(
        "podium", "load_trusted_types", lv.name, version=lv.version, types=names)


def identity(path: Path) -> tuple[int, int]:
    """(inode, mtime) of the version's manifest: a version replaced in place reloads."""
    try:
        st = (path / "model.json").stat()
    except OSError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)


def retire(lv: LoadedVersion) -> None:
    """Stop a replaced or removed version's batcher and drop it from the loaded-versions gauge."""
    if lv.scheduler is not None:
        lv.scheduler.close()
    if lv.runtime is not None:
        metrics.set_loaded(lv.name, lv.version, lv.runtime.path, False)

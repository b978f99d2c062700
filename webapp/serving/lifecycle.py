"""Changes to the store's desired state (publish, labels, default, rollback, split, load/unload).

Every change is validated against the store before anything is written, so a refusal changes
nothing; it then lands in the model's `config.json` (atomic replace), so all workers and instances
that share the store pick it up within the poll interval and it survives a restart; and it is
recorded in the append-only audit log (who, what, when).
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from webapp.serving.audit import AUDIT_FILE, AuditLog
from webapp.serving.errors import Conflict, ModelNotFound
from webapp.serving.loaded import State
from webapp.serving.publishing import StorageFailure, check_upload, trial_load
from webapp.serving.registry import check_label, check_split, labels_of, split_of
from webapp.serving.service import ModelService
from webapp.serving.spec import check_model_name

LOCK_FILE = ".lifecycle.lock"
Update = Callable[[dict[str, Any], list[int]], None]


class Lifecycle:
    """Admin operations on the model store; raises ServingError subclasses on refusal."""

    def __init__(self, service: ModelService, audit_path: Path | None = None, *,
                 max_upload_bytes: int = 256 * 1024**2) -> None:
        self.service = service
        self.store = service.store
        self.audit_log = AuditLog(audit_path or self.store.root / AUDIT_FILE)
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One change at a time across threads AND worker processes (read-modify-write of config)."""
        with self._lock, open(self.store.root / LOCK_FILE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def _stored_versions(self, name: str) -> list[int]:
        model = self.store.scan().get(check_model_name(name))
        if model is None:
            raise ModelNotFound(name)
        return list(model.versions)

    def _change(self, name: str, user: str, action: str, update: Update,
                details: dict[str, Any] | None = None) -> dict:
        """Read config, let `update(config, stored)` check and change it, write atomically, audit.

        `update` may add to `details` (what the audit entry says) as it decides.
        """
        with self._locked():
            stored = self._stored_versions(name)
            config = self.store.read_config(name)
            update(config, stored)  # raises before anything is written
            self.store.write_config(name, config)
            self.record(user, action, name, **(details or {}))
        self.service.refresh()
        return config

    def _usable(self, name: str, version: int, stored: list[int], what: str) -> None:
        """Refuse a version that is not stored, or that this worker failed to load."""
        if version not in stored:
            raise Conflict(f"Cannot {what} {name} version {version}: no such version (stored: {stored})")
        view = self.service.models().get(name)
        lv = view.versions.get(version) if view else None
        if lv is not None and lv.state is State.FAILED:
            raise Conflict(f"Cannot {what} {name} version {version}: it failed to load ({lv.reason})")

    def record(self, user: str, action: str, model: str, **details: Any) -> None:
        self.audit_log.record(user, action, model, **details)

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `limit` audit entries, newest first."""
        return self.audit_log.read(limit)

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, name: str, files: dict[str, bytes], user: str) -> int:
        """Validate an upload in a separate process, then publish it atomically; returns its version.

        Raises InvalidInput (bad manifest/artifact, refused pickle), PayloadTooLarge, StorageFailure.
        """
        check_model_name(name)
        options = self.service.options
        trusted = name in options.trusted_models
        extension = options.trusted_types.get(name, frozenset())
        spec = check_upload(name, files, trusted, self.max_upload_bytes, extension)
        trial = trial_load(name, files, trusted, options.trial, extension)
        model_dir = self.store.model_dir(name)
        existed = model_dir.exists()
        with self._locked():
            try:
                version = self.store.publish(name, files)
            except OSError as exc:
                if not existed:
                    _remove_empty(model_dir)
                raise StorageFailure(f"Cannot write the version: {exc.strerror or exc}") from None
            extra = {"operator_types": list(trial.operator_types)} if trial.operator_types else {}
            self.record(user, "publish", name, version=version, artifact=spec.artifact,
                        framework=spec.framework, call_path=trial.call_path, **extra)
        self.service.refresh()
        return version

    def delete_version(self, name: str, version: int, user: str) -> None:
        """Remove a version no label, default or split uses; raises Conflict or ModelNotFound."""
        with self._locked():
            stored = self._stored_versions(name)
            if version not in stored:
                raise ModelNotFound(name, version)
            config = self.store.read_config(name)
            users = [f"label {k!r}" for k, v in labels_of(config).items() if v == version]
            users += ["the default version"] if config.get("default_version") == version else []
            users += ["the traffic split"] if version in (split_of(config) or {}) else []
            if users:
                raise Conflict(f"Cannot delete {name} version {version}: used by {', '.join(users)}")
            if stored == [version]:
                raise Conflict(f"Cannot delete {name} version {version}: it is the only version")
            self.store.delete_version(name, version)
            self.record(user, "delete_version", name, version=version)
        self.service.refresh()

    # -- serving state ------------------------------------------------------------------------
    def load(self, name: str, user: str) -> None:
        """Serve the model again (clears `unloaded`); raises ModelNotFound."""
        self._change(name, user, "load", lambda c, _: c.pop("unloaded", None))

    def unload(self, name: str, user: str) -> None:
        """Stop serving every version of the model in every worker; raises ModelNotFound."""
        self._change(name, user, "unload", lambda c, _: c.__setitem__("unloaded", True))

    def set_label(self, name: str, label: str, version: int, user: str) -> None:
        """Point `label` at an existing version; raises InvalidInput or Conflict."""
        check_label(label)

        def update(config: dict, stored: list[int]) -> None:
            self._usable(name, version, stored, f"label {label!r} ->")
            config["labels"] = {**labels_of(config), label: version}

        self._change(name, user, "set_label", update, {"label": label, "version": version})

    def delete_label(self, name: str, label: str, user: str) -> None:
        """Remove a label; raises ModelNotFound when the model has no such label."""
        def update(config: dict, _: list[int]) -> None:
            labels = labels_of(config)
            if label not in labels:
                raise ModelNotFound(name, label=label)
            del labels[label]
            config["labels"] = labels

        self._change(name, user, "delete_label", update, {"label": label})

    def set_default(self, name: str, version: int | None, user: str) -> None:
        """Serve `version` to requests that name none; None means the newest available again."""
        def update(config: dict, stored: list[int]) -> None:
            if version is None:
                config.pop("default_version", None)
            else:
                self._usable(name, version, stored, "make the default")
                config["default_version"] = version

        self._change(name, user, "set_default", update, {"version": version})

    def rollback(self, name: str, user: str) -> int:
        """Make the highest version below the one served by default the default (and `stable`).

        Clears any traffic split, so every unnamed request gets the old version. Raises Conflict
        when there is no older version to go back to.
        """
        details: dict[str, Any] = {}

        def update(config: dict, stored: list[int]) -> None:
            current = self._current_default(name, config, stored)
            older = [v for v in stored if v < current and not self._failed(name, v)]
            if not older:
                raise Conflict(f"Cannot roll back {name}: no usable version below {current}")
            target = max(older)
            details.update(previous=current, version=target, cleared_split=split_of(config) is not None)
            config["default_version"] = target
            if "stable" in labels_of(config):
                config["labels"] = {**labels_of(config), "stable": target}
            config.pop("split", None)

        self._change(name, user, "rollback", update, details)
        return details["version"]

    def _current_default(self, name: str, config: dict, stored: list[int]) -> int:
        pinned = config.get("default_version")
        if isinstance(pinned, int) and pinned in stored:
            return pinned
        view = self.service.models().get(name)
        served = view.default_version if view else None
        return served if served is not None else max(stored)

    def _failed(self, name: str, version: int) -> bool:
        view = self.service.models().get(name)
        lv = view.versions.get(version) if view else None
        return lv is not None and lv.state is State.FAILED

    def set_split(self, name: str, weights: dict[int, int] | None, user: str) -> None:
        """Split unnamed requests between versions by integer weights summing to 100; None clears."""
        def update(config: dict, stored: list[int]) -> None:
            if weights is None:
                config.pop("split", None)
                return
            check_split(weights)
            for version in weights:
                self._usable(name, version, stored, "split traffic to")
            config["split"] = {str(v): w for v, w in sorted(weights.items())}

        shown = None if weights is None else {str(k): v for k, v in weights.items()}
        self._change(name, user, "set_split", update, {"weights": shown})


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()  # only succeeds when nothing was left in it

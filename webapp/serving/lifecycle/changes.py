"""Changes to the store's desired state: publish, delete, labels, default, rollback, split, load.

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
from typing import Any

from webapp.serving.errors import ModelNotFound, StorageFailure
from webapp.serving.lifecycle import rules
from webapp.serving.lifecycle.trial import run_trial
from webapp.serving.lifecycle.upload import check_upload
from webapp.serving.models.audit import AUDIT_FILE, AuditLog
from webapp.serving.models.spec import check_model_name
from webapp.serving.models.versions import check_label, check_split, labels_of, split_of
from webapp.serving.service import ModelService

LOCK_FILE = ".lifecycle.lock"
Update = Callable[[dict[str, Any], list[int]], None]


class Lifecycle:
    """Admin operations on the model store; raises ServingError subclasses on refusal."""

    def __init__(self, service: ModelService, *, max_upload_bytes: int = 256 * 1024**2) -> None:
        self.service = service
        self.store = service.store
        self.audit_log = AuditLog(self.store.root / AUDIT_FILE)
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()

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
                details: dict[str, Any] | None = None) -> None:
        """Read config, let `update(config, stored)` check and change it, write atomically, audit.

        `update` may add to `details` (what the audit entry says) as it decides.
        """
        with self._locked():
            stored = self._stored_versions(name)
            config = self.store.read_config(name)
            update(config, stored)  # raises before anything is written
            self.store.write_config(name, config)
            self.audit_log.record(user, action, name, **(details or {}))
        self.service.refresh()

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `limit` audit entries, newest first."""
        return self.audit_log.read(limit)

    def describe(self, name: str) -> dict[str, Any]:
        """The model's desired state (its config) beside what this worker serves."""
        model = self.store.scan().get(check_model_name(name))
        if model is None:
            raise ModelNotFound(name)
        served = self.service.models().get(name)
        return {
            "name": name, "stored": list(model.versions), "config": model.config,
            "labels": labels_of(model.config), "default_version": model.config.get("default_version"),
            "split": {str(k): v for k, v in (split_of(model.config) or {}).items()} or None,
            "unloaded": bool(model.config.get("unloaded")),
            "serving_default": served.default_version if served else None,
            "versions": {str(v): s.info() for v, s in served.versions.items()} if served else {},
        }

    # -- versions -----------------------------------------------------------------------------
    def publish(self, name: str, files: dict[str, bytes], user: str) -> int:
        """Check an upload, trial it in a child process, then publish it atomically; its version.

        Raises InvalidInput (bad manifest/artifact, refused pickle), PayloadTooLarge, StorageFailure.
        """
        check_model_name(name)
        options = self.service.options
        trusted = name in options.trusted_models
        extension = options.trusted_types.get(name, frozenset())
        spec = check_upload(name, files, trusted, self.max_upload_bytes, extension)
        trial = run_trial(name, files, trusted, options.trial, extension)
        model_dir = self.store.model_dir(name)
        existed = model_dir.exists()
        with self._locked():
            try:
                version = self.store.publish(name, files)
            except OSError as exc:
                if not existed:
                    with contextlib.suppress(OSError):
                        model_dir.rmdir()  # only succeeds when nothing was left in it
                raise StorageFailure(f"Cannot write the version: {exc.strerror or exc}") from None
            extra = {"operator_types": list(trial.operator_types)} if trial.operator_types else {}
            self.audit_log.record(user, "publish", name, version=version, artifact=spec.artifact,
                                  framework=spec.framework, call_path=trial.call_path, **extra)
        self.service.refresh()
        return version

    def delete_version(self, name: str, version: int, user: str) -> None:
        """Remove a version no label, default or split uses; raises Conflict or ModelNotFound."""
        with self._locked():
            stored = self._stored_versions(name)
            rules.check_deletable(name, version, stored, self.store.read_config(name))
            self.store.delete_version(name, version)
            self.audit_log.record(user, "delete_version", name, version=version)
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
            rules.check_usable(self.service, name, version, stored, f"label {label!r} ->")
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
                rules.check_usable(self.service, name, version, stored, "make the default")
                config["default_version"] = version

        self._change(name, user, "set_default", update, {"version": version})

    def rollback(self, name: str, user: str) -> int:
        """Make the highest usable version below the default the default (and `stable`).

        Clears any traffic split, so every unnamed request gets the old version. Raises Conflict
        when there is no older version to go back to.
        """
        details: dict[str, Any] = {}

        def update(config: dict, stored: list[int]) -> None:
            details.update(rules.roll_back(self.service, name, config, stored))

        self._change(name, user, "rollback", update, details)
        return details["version"]

    def set_split(self, name: str, weights: dict[int, int] | None, user: str) -> None:
        """Split unnamed requests between versions by weights (from `parse_split`); None clears."""
        def update(config: dict, stored: list[int]) -> None:
            if weights is None:
                config.pop("split", None)
                return
            check_split(weights)
            for version in weights:
                rules.check_usable(self.service, name, version, stored, "split traffic to")
            config["split"] = {str(v): w for v, w in sorted(weights.items())}

        shown = None if weights is None else {str(k): v for k, v in weights.items()}
        self._change(name, user, "set_split", update, {"weights": shown})

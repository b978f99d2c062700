"""Changes to the store's desired state (load/unload, labels, ...), each audited and atomic.

Every change lands in the model's `config.json` (atomic replace), so all workers and instances
that share the store pick it up within the poll interval and it survives a restart. The audit
log is append-only JSON lines: who, what, when.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from webapp.serving.errors import Conflict, ModelNotFound
from webapp.serving.service import ModelService

AUDIT_FILE = ".audit.jsonl"


class Lifecycle:
    """Admin operations on the model store; raises ServingError subclasses on refusal."""

    def __init__(self, service: ModelService, audit_path: Path | None = None) -> None:
        self.service = service
        self.store = service.store
        self.audit_path = audit_path or self.store.root / AUDIT_FILE
        self._lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------------
    def _stored_versions(self, name: str) -> list[int]:
        model = self.store.scan().get(name)
        if model is None:
            raise ModelNotFound(name)
        return list(model.versions)

    def _change(self, name: str, user: str, action: str, update: Any, **details: Any) -> dict:
        """Read config, apply `update(config)`, write it atomically, audit, refresh this worker."""
        with self._lock:
            self._stored_versions(name)
            config = self.store.read_config(name)
            update(config)
            self.store.write_config(name, config)
            self.record(user, action, name, **details)
        self.service.refresh()
        return config

    def record(self, user: str, action: str, model: str, **details: Any) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": user,
                 "action": action, "model": model, **details}
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.audit_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, line)  # one write on an O_APPEND file: lines never interleave
        finally:
            os.close(fd)

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `limit` audit entries, newest first."""
        try:
            lines = self.audit_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in reversed(lines[-limit:]):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    # -- operations ---------------------------------------------------------------------------
    def load(self, name: str, user: str) -> None:
        """Serve the model again (clears `unloaded`); raises ModelNotFound."""
        self._change(name, user, "load", lambda c: c.pop("unloaded", None))

    def unload(self, name: str, user: str) -> None:
        """Stop serving every version of the model in every worker; raises ModelNotFound."""
        self._change(name, user, "unload", lambda c: c.__setitem__("unloaded", True))

    def set_label(self, name: str, label: str, version: int, user: str) -> None:
        """Point `label` at an existing version; raises Conflict when the version is missing."""
        if version not in self._stored_versions(name):
            raise Conflict(f"Cannot label {name} version {version}: no such version")

        def update(config: dict) -> None:
            config.setdefault("labels", {})[label] = version

        self._change(name, user, "set_label", update, label=label, version=version)

"""The append-only audit log of lifecycle changes: one JSON object per line (who, what, when)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

AUDIT_FILE = ".audit.jsonl"  # in the store's root, shared by every worker and the CLI


class AuditLog:
    """Append and read audit entries; safe across threads and processes (O_APPEND, one write)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, user: str, action: str, model: str, **details: Any) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": user,
                 "action": action, "model": model, **details}
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, line)  # one write on an O_APPEND file: lines never interleave
        finally:
            os.close(fd)

    def record_once(self, user: str, action: str, model: str, **details: Any) -> None:
        """Record unless one of the recent entries already says the same (workers, restarts)."""
        for entry in self.read(1000):
            if entry.get("action") == action and entry.get("model") == model and all(
                    entry.get(k) == v for k, v in details.items()):
                return
        with contextlib.suppress(OSError):  # a read-only store must not stop a version serving
            self.record(user, action, model, **details)

    def read(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `limit` entries, newest first."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in reversed(lines[-limit:] if limit > 0 else []):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

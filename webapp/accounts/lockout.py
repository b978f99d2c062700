"""Failed logins per (user, client), counted in files beside the users file.

A count kept in memory is per worker process: with W workers and N instances a guesser gets W x N
times the attempts. Files in the folder that already holds the users (the shared instance folder
when instances are one service) give every worker of every instance the same count. One file per
(user, client), named by a hash; each failure appends its wall-clock time in one write.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import time
from pathlib import Path

FOLDER = ".lockout"


@functools.lru_cache(maxsize=4096)
def _file_name(name: str, client: str) -> str:
    """A pair's file name: a hash, so no name or address reaches the file system."""
    return hashlib.sha256(f"{name}\0{client}".encode("utf-8", "surrogatepass")).hexdigest()[:40]


class Lockout:
    def __init__(self, folder: Path, max_failures: int, window: float) -> None:
        self.folder, self.max_failures, self.window = folder, max_failures, window

    def _path(self, name: str, client: str) -> str:
        return os.path.join(self.folder, _file_name(name, client))

    def _recent(self, path: str) -> list[float]:
        """Failure times within the window, oldest first (none when the file is absent: the
        common case, checked on every API request, so one bare open and nothing more)."""
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return []
        cutoff = time.time() - self.window
        found = []
        for word in text.split():
            with contextlib.suppress(ValueError):
                if float(word) >= cutoff:
                    found.append(float(word))
        return sorted(found)

    def wait(self, name: str, client: str) -> float:
        """Seconds until (name, client) may try again; 0 when free."""
        recent = self._recent(self._path(name, client))
        if len(recent) < self.max_failures:
            return 0.0
        oldest = recent[-self.max_failures]
        return max(1.0, oldest + self.window - time.time())

    def record(self, name: str, client: str) -> None:
        """Count one failure (a locked-out pair records none, so a file stays small)."""
        with contextlib.suppress(OSError):  # a read-only folder must not turn a 401 into a 500
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._path(name, client), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{time.time():.3f}\n".encode())
            finally:
                os.close(fd)
            if secrets.randbelow(100) == 0:
                self._sweep()

    def _sweep(self) -> None:
        """Remove pairs whose last failure left the window (bounded files under a spray of names)."""
        cutoff = time.time() - self.window
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

"""Users in one JSON file in the instance folder: werkzeug password hashes and a role each.

A password hash costs tens of milliseconds by design and basic auth sends the password on every
request, so a verified credential is remembered for a short time under a keyed digest (never the
password itself); the memory is dropped whenever the file changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from webapp.accounts.lockout import FOLDER, Lockout

ROLES = ("admin", "user")
MAX_PASSWORD = 1024  # longer ones are refused before hashing: bounded verification cost
_DUMMY_HASH = generate_password_hash("not-a-password")


class UserError(ValueError):
    """A users-file operation was refused (unknown user, bad role, weak password)."""


class UserStore:
    def __init__(self, path: str | os.PathLike[str], cache_seconds: float = 60.0,
                 max_failures: int = 10, lockout_window: float = 300.0) -> None:
        self.path = Path(path)
        self.cache_seconds = cache_seconds
        self.max_failures, self.lockout_window = max_failures, lockout_window
        # beside the users file: every worker and instance that shares the users shares the count
        self._lockout = Lockout(self.path.parent / FOLDER, max_failures, lockout_window)
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, dict[str, str]] = {}
        self._verified: dict[bytes, tuple[str, float]] = {}

    # -- the file -----------------------------------------------------------------------------
    def _current(self) -> dict[str, dict[str, str]]:
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # writes replace the file: new inode
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            with self._lock:
                self._users = self._read() if stamp else {}
                self._verified.clear()
                self._stamp = stamp
        return self._users

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        users = data.get("users", {}) if isinstance(data, dict) else {}
        return {k: v for k, v in users.items() if isinstance(v, dict) and "hash" in v}

    def _write(self, users: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"users": users}, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    def list(self) -> dict[str, str]:
        """{username: role}."""
        return {name: u.get("role", "user") for name, u in sorted(self._current().items())}

    def role(self, name: str) -> str | None:
        """The user's role, None when there is no such user (checked per token request: no sort)."""
        user = self._current().get(name)
        return user.get("role", "user") if user is not None else None

    def add(self, name: str, password: str, role: str = "user") -> None:
        """Add or replace a user; raises UserError for a bad name, role or password."""
        if not name or not name.isprintable() or ":" in name or len(name) > 64:
            raise UserError("User names are 1-64 printable characters without ':'")
        if role not in ROLES:
            raise UserError(f"Role must be one of {ROLES}")
        if not 8 <= len(password) <= MAX_PASSWORD:
            raise UserError(f"Passwords are 8 to {MAX_PASSWORD} characters")
        users = dict(self._current())
        users[name] = {"hash": generate_password_hash(password), "role": role}
        self._write(users)

    def remove(self, name: str) -> None:
        users = dict(self._current())
        if users.pop(name, None) is None:
            raise UserError(f"No user {name!r}")
        self._write(users)

    def set_password(self, name: str, password: str) -> None:
        role = self.role(name)
        if role is None:
            raise UserError(f"No user {name!r}")
        self.add(name, password, role)

    def ensure_admin(self, password: str | None = None) -> str | None:
        """Create `admin` if no users file exists, with `password` or a random one; returns the
        password it used once, None when the file existed. Raises UserError for a bad `password`.

        The complete file is linked into place (link fails when the name exists), so of several
        workers starting together only one wins and none reads a half-written file.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            return None
        if password is not None and not 8 <= len(password) <= MAX_PASSWORD:
            raise UserError(f"Passwords are 8 to {MAX_PASSWORD} characters")
        password = password or secrets.token_urlsafe(16)
        users = {"admin": {"hash": generate_password_hash(password), "role": "admin"}}
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"users": users}, fh, indent=2)
            os.link(tmp, self.path)  # whole file appears at once; fails if another worker won
        except FileExistsError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
        return password

    # -- checking credentials -----------------------------------------------------------------
    def authenticate(self, name: str, password: str, client: str) -> tuple[str | None, float]:
        """(role, 0) for right credentials; (None, seconds to wait) while locked out; (None, 0).

        The one credential check for the APIs' basic auth and the pages' login: a failure counts
        towards the (name, client) lockout.
        """
        if not name:
            return None, 0.0
        wait = self.locked_out(name, client)
        if wait:
            return None, wait
        role = self.verify(name, password)
        if role is None:
            self.record_failure(name, client)
        return role, 0.0

    def verify(self, name: str, password: str) -> str | None:
        """The user's role when the credentials are right, else None; same cost for unknown users."""
        users = self._current()
        if len(password) > MAX_PASSWORD or len(name) > 256:
            return None
        digest = hmac.new(self._key, f"{name}\0{password}".encode("utf-8", "surrogatepass"),
                          hashlib.sha256).digest()
        cached = self._verified.get(digest)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        user = users.get(name)
        ok = check_password_hash(user["hash"] if user else _DUMMY_HASH, password)
        if not (ok and user):
            return None
        role = user.get("role", "user")
        if self.cache_seconds > 0:
            self._verified[digest] = (role, time.monotonic() + self.cache_seconds)
        return role

    def locked_out(self, name: str, client: str) -> float:
        """Seconds until (name, client) may try again after too many failures; 0 when free."""
        return self._lockout.wait(name, client)

    def record_failure(self, name: str, client: str) -> None:
        self._lockout.record(name, client)

"""Sensitive features in the log: a keyed hash (joinable, not reversible) or Fernet encryption.

The hash key comes from `PODIUM_LOG_HASH_KEY` or, failing that, a random key kept in the instance
folder (readable by the owner only), so hashes stay stable across restarts and workers. Encryption
needs `PODIUM_LOG_ENCRYPTION_KEY` (a Fernet key); without it, "encrypt" features are hashed instead,
so nothing sensitive is ever stored in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
HASH_KEY_ENV = "PODIUM_LOG_HASH_KEY"
ENCRYPTION_KEY_ENV = "PODIUM_LOG_ENCRYPTION_KEY"
HASH_KEY_FILE = "log-hash.key"
HASH_PREFIX, FERNET_PREFIX = "hmac:", "fernet:"


def canonical(value: Any) -> str:
    """The text hashed for a value: floats to 7 significant digits, so float32 round trips agree."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format(float(value), ".7g")
    return json.dumps(value, sort_keys=True)


class Protector:
    """Hides the values of sensitive features before they are written."""

    def __init__(self, hash_key: bytes, encryption_key: bytes | str | None = None) -> None:
        if len(hash_key) < 16:
            raise ValueError("the log hash key must be at least 16 bytes")
        self._hash_key = hash_key
        self._fernet = None
        if encryption_key:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(encryption_key)  # raises ValueError for a malformed key
        self._warned: set[str] = set()

    @property
    def can_encrypt(self) -> bool:
        return self._fernet is not None

    def hash(self, value: Any) -> str:
        digest = hmac.new(self._hash_key, canonical(value).encode(), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest[:32]

    def encrypt(self, value: Any) -> str:
        assert self._fernet is not None
        return FERNET_PREFIX + self._fernet.encrypt(json.dumps(value).encode()).decode()

    def protect(self, value: Any, mode: str, model: str = "") -> str:
        """The stored form of a sensitive value under `mode` ("hash" or "encrypt")."""
        if mode == "encrypt":
            if self._fernet is not None:
                return self.encrypt(value)
            if model not in self._warned:
                self._warned.add(model)
                log.warning("Model %s asks to encrypt sensitive features but %s is not set; "
                            "hashing them instead", model, ENCRYPTION_KEY_ENV)
        return self.hash(value)

    def reveal(self, stored: Any) -> Any:
        """The original value of an encrypted one (needs the key); hashes and plain values as they are."""
        if isinstance(stored, str) and stored.startswith(FERNET_PREFIX) and self._fernet is not None:
            return json.loads(self._fernet.decrypt(stored[len(FERNET_PREFIX):].encode()))
        return stored


def instance_hash_key(instance_path: str | Path) -> bytes:
    """The instance's hash key, created once (0600) if there is none; racing workers agree."""
    path = Path(instance_path) / HASH_KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{HASH_KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # atomic and refuses to replace: the first worker's key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def protector_from_environment(instance_path: str | Path,
                               environ: dict[str, str] | None = None) -> Protector:
    """Keys from the environment (or the instance folder for the hash key)."""
    env = os.environ if environ is None else environ
    given = env.get(HASH_KEY_ENV, "")
    hash_key = given.encode() if given else instance_hash_key(instance_path)
    return Protector(hash_key, env.get(ENCRYPTION_KEY_ENV) or None)

"""API tokens: opaque, revocable credentials for programs, kept in Podium's shared database.

A token is `pdm_` + 43 url-safe characters from `secrets` (256 bits). Only its SHA-256 digest is
stored: a password hash is slow on purpose because people pick guessable passwords, but nobody can
guess 256 random bits, so one SHA-256 (about a microsecond) is as safe here and lets every request
be checked without the cost of a password hash. Each worker keeps the table in memory and reads it
again every `poll_seconds`, so a revocation reaches every worker and instance within that time
while a check stays a dictionary lookup by digest (the secret itself is never compared byte by
byte, and the digest is compared with `hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from webapp.serving.monitoring.database import LogDatabase, describe_error
from webapp.serving.monitoring.tables import api_tokens

log = logging.getLogger(__name__)
PREFIX = "pdm_"
SCOPES = ("predict", "read", "admin")
MAX_DAYS = 3650
UNVERIFIABLE = "unverifiable now (the token database is unavailable)"


class TokenError(ValueError):
    """A token could not be made or revoked (bad name, scope or expiry); `status` for HTTP."""

    status = 400


class TokenNotFound(TokenError):
    """No token with that id (or none of the caller's)."""

    status = 404


class TokenUnavailable(TokenError):
    """The database holding the tokens does not answer."""

    status = 503


@dataclass(frozen=True)
class Token:
    """A token's public facts (never the secret)."""

    id: str
    user: str
    name: str
    scope: str
    created_by: str
    created_at: float
    expires_at: float | None = None
    last_used_at: float | None = None
    revoked_at: float | None = None

    def state(self, now: float | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or time.time()):
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state()}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(text: str) -> bool:
    return text.startswith(PREFIX)


def _row(row: Any) -> Token:
    return Token(row.id, row.user_name, row.name, row.scope, row.created_by, row.created_at,
                 row.expires_at, row.last_used_at, row.revoked_at)


class TokenStore:
    """Make, list, revoke and check tokens; thread-safe, one per worker process."""

    def __init__(self, db: LogDatabase, poll_seconds: float = 5.0) -> None:
        self.db, self.poll_seconds = db, poll_seconds
        self._lock = threading.Lock()
        self._by_digest: dict[str, tuple[str, Token]] = {}
        self._read_at = float("-inf")
        self._used: dict[str, float] = {}  # token id -> last use not yet written (approximate)
        self._failing = False  # the last read failed: an unknown token may be a real one

    # -- making and revoking ------------------------------------------------------------------
    def create(self, user: str, name: str, scope: str = "predict", days: float | None = None,
               created_by: str | None = None) -> tuple[str, Token]:
        """A new token for `user`: (the secret, shown once; its facts). Raises TokenError."""
        name = (name or "").strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise TokenError("A token needs a name of 1-64 printable characters")
        if scope not in SCOPES:
            raise TokenError(f"The scope must be one of {', '.join(SCOPES)}")
        if days is not None and not 0 < days <= MAX_DAYS:
            raise TokenError(f"Expiry is 1 to {MAX_DAYS} days (or none)")
        secret = PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        token = Token(secrets.token_hex(6), user, name, scope, created_by or user, now,
                      now + days * 86400 if days else None)
        values = {k: v for k, v in asdict(token).items() if k != "user"}
        self._write(lambda c: c.execute(api_tokens.insert().values(
            **values, user_name=user, digest=digest(secret))))
        return secret, token

    def revoke(self, token_id: str, user: str | None = None) -> Token:
        """Revoke one token (only `user`'s own when given); raises TokenError when there is none."""
        found = self.get(token_id)
        if found is None or (user is not None and found.user != user):
            raise TokenNotFound(f"No token {token_id[:20]!r}" + (" of yours" if user else ""))
        if found.revoked_at is None:
            stamp = time.time()
            self._write(lambda c: c.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                                            .values(revoked_at=stamp)))
        return self.get(token_id) or found

    def get(self, token_id: str) -> Token | None:
        rows = self._read(lambda c: c.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id))
                          .all())
        return _row(rows[0]) if rows else None

    def list(self, user: str | None = None) -> list[Token]:
        """Every token (of `user` when given), newest first."""
        query = sa.select(api_tokens).order_by(api_tokens.c.created_at.desc())
        if user is not None:
            query = query.where(api_tokens.c.user_name == user)
        return [_row(r) for r in self._read(lambda c: c.execute(query).all())]

    # -- checking -------------------------------------------------------------------------------
    def check(self, secret: str) -> tuple[Token | None, str]:
        """(the token, "") when `secret` is an active token; else (None, why: malformed, unknown,
        expired or revoked). Microseconds: one SHA-256 and a lookup in this worker's copy."""
        if not looks_like_token(secret) or len(secret) > 128:
            return None, "malformed"
        wanted = digest(secret)
        found = self._snapshot().get(wanted)
        if found is None or not hmac.compare_digest(found[0], wanted):
            return None, UNVERIFIABLE if self._failing else "unknown"
        token = found[1]
        state = token.state()
        if state != "active":
            return None, state
        self._used[token.id] = time.time()
        return token, ""

    def _snapshot(self) -> dict[str, tuple[str, Token]]:
        if time.monotonic() - self._read_at >= self.poll_seconds:
            with self._lock:
                if time.monotonic() - self._read_at >= self.poll_seconds:
                    self._reload()
        return self._by_digest

    def _reload(self) -> None:
        """Write the last uses seen since the last read, then read the whole table again."""
        used, self._used = self._used, {}
        try:
            with self.db.engine.begin() as conn:
                for token_id, at in used.items():
                    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                                 .values(last_used_at=at))
                rows = conn.execute(sa.select(api_tokens)).all()
        except sa.exc.SQLAlchemyError as exc:  # keep the last copy; try again next poll
            log.warning("Could not read the API tokens: %s", describe_error(exc))
            self._read_at, self._failing = time.monotonic(), True
            return
        self._by_digest = {r.digest: (r.digest, _row(r)) for r in rows}
        self._read_at, self._failing = time.monotonic(), False

    def forget(self) -> None:
        """Read the table again on the next check (after a change made in this process)."""
        self._read_at = float("-inf")

    def _write(self, work: Any) -> None:
        try:
            with self.db.engine.begin() as conn:
                work(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise TokenUnavailable(f"The token database is unavailable: {describe_error(exc)}") from None
        self.forget()

    def _read(self, work: Any) -> Any:
        try:
            with self.db.engine.connect() as conn:
                return work(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise TokenUnavailable(f"The token database is unavailable: {describe_error(exc)}") from None

"""The first start: no users file yet, so make `admin`, and say how to log in, once."""

from __future__ import annotations

import sys

from webapp.accounts.users import UserStore


def create_first_admin(store: UserStore, password_file: str = "") -> None:
    """On the very first start, make `admin`: with the password in `password_file` (a mounted
    secret) when one is named, else a random one shown once (stderr)."""
    given = _admin_password(password_file)
    password = store.ensure_admin(given)
    if password and given is None:
        print(
            "\n  Podium created the user 'admin' with the password:\n\n"
            f"      {password}\n\n  It is shown only this once; change it with "
            "'flask --app wsgi users passwd admin'.\n",
            file=sys.stderr,  # not stdout: scripts silence a command's stdout, never this
            flush=True,
        )
    elif password:
        print("Podium created the user 'admin' with the password in PODIUM_ADMIN_PASSWORD_FILE.",
              file=sys.stderr, flush=True)


def _admin_password(path: str) -> str | None:
    """The first admin's password from a file, one line; None when no file is named.

    A file, not an environment variable: the environment is readable by every process of the user
    and shown by `docker inspect`, and PODIUM_ values are parsed as JSON (a numeric password would
    become a number).
    """
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return fh.read().rstrip("\r\n")

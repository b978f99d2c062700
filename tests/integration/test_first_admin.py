"""The first admin's password from a mounted secret (PODIUM_ADMIN_PASSWORD_FILE) instead of a random
one printed once: what every replica of a cluster needs to agree on."""

from __future__ import annotations

import contextlib
import io

import pytest

from webapp import create_app
from webapp.users import UserError


def _app(tmp_path, secret, printed: io.StringIO | None = None):
    """create_app as a first start; its stderr goes to `printed` (not capsys: create_app sets up
    logging on the current stderr, which capsys closes afterwards)."""
    with contextlib.redirect_stderr(printed or io.StringIO()):
        return _create(tmp_path, secret)


def _create(tmp_path, secret):
    return create_app({"TESTING": True, "MODEL_STORE": str(tmp_path / "store"), "BACKGROUND_LOADING": False,
                       "CREATE_ADMIN": True, "USERS_FILE": str(tmp_path / "users.json"),
                       "SECRET_KEY": "test", "ADMIN_PASSWORD_FILE": str(secret)})


def test_the_admin_gets_the_password_from_the_secret_file_and_it_is_not_printed(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("from-the-secret-42\n")
    printed = io.StringIO()
    users = _app(tmp_path, secret, printed).extensions["podium.users"]
    assert users.verify("admin", "from-the-secret-42") == "admin"
    err = printed.getvalue()
    assert "PODIUM_ADMIN_PASSWORD_FILE" in err
    assert "from-the-secret-42" not in err


def test_an_existing_users_file_is_left_alone(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("first-password-1")
    _app(tmp_path, secret)
    secret.write_text("second-password-2")
    users = _app(tmp_path, secret).extensions["podium.users"]
    assert users.verify("admin", "first-password-1") == "admin"
    assert users.verify("admin", "second-password-2") is None


def test_a_too_short_secret_stops_the_start(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("short")
    with pytest.raises(UserError, match="8 to"):
        _app(tmp_path, secret)

"""The first admin's password from a mounted secret (PODIUM_ADMIN_PASSWORD_FILE) instead of a random
one printed once: what every replica of a cluster needs to agree on. Run through `flask users list`,
the command the container's entrypoint runs on every start."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.server import ROOT
from webapp.accounts.users import UserStore


def _first_start(tmp_path, secret) -> subprocess.CompletedProcess:
    env = {**os.environ, "PODIUM_MODEL_STORE": str(tmp_path / "store"), "PODIUM_SECRET_KEY": "test",
           "PODIUM_USERS_FILE": str(tmp_path / "users.json"), "PODIUM_BACKGROUND_LOADING": "false",
           "PODIUM_CREATE_ADMIN": "true", "PODIUM_ADMIN_PASSWORD_FILE": str(secret)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "users", "list"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_admin_gets_the_password_from_the_secret_file_and_it_is_not_printed(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("from-the-secret-42\n")
    run = _first_start(tmp_path, secret)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "PODIUM_ADMIN_PASSWORD_FILE" in run.stderr
    assert "from-the-secret-42" not in run.stdout + run.stderr
    assert UserStore(tmp_path / "users.json").verify("admin", "from-the-secret-42") == "admin"


def test_an_existing_users_file_is_left_alone(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("first-password-1")
    assert _first_start(tmp_path, secret).returncode == 0
    secret.write_text("second-password-2")
    assert _first_start(tmp_path, secret).returncode == 0
    users = UserStore(tmp_path / "users.json")
    assert users.verify("admin", "first-password-1") == "admin"
    assert users.verify("admin", "second-password-2") is None


def test_a_too_short_secret_stops_the_start(tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("short")
    run = _first_start(tmp_path, secret)
    assert run.returncode != 0
    assert "8 to" in run.stderr
    assert not (tmp_path / "users.json").exists()

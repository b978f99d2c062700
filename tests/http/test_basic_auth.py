"""Basic auth on the APIs (ROBUSTNESS rows 64-70) and the first-start admin."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error
from webapp import create_app
from webapp.accounts.users import UserStore
from webapp.http.auth import auth

ROOT = Path(__file__).resolve().parents[2]

PROTECTED = [("GET", "/api/v1/models"), ("GET", "/api/v1/models/iris"),
             ("GET", "/api/v1/models/iris/metadata"), ("POST", "/api/v1/models/iris:predict"),
             ("POST", "/api/v1/models/iris/versions/1:classify"), ("GET", "/api/stats")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_credentials_get_401_json_with_a_challenge(client, method, path):
    """Row 64."""
    response = client.open(path, method=method, json={"instances": [IRIS_ROW]})
    assert_clean_error(response, 401, "basic auth")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert 'realm="Podium"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/", "/api"])
def test_probes_need_no_credentials(client, path):
    assert client.get(path).status_code == 200


def _strip(response) -> tuple[int, bytes, list]:
    ids = ("X-Request-ID", "X-Podium-Request-ID")
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ids)
    return response.status_code, response.get_data(), headers


def test_wrong_password_and_unknown_user_look_the_same(client):
    """Row 65."""
    wrong = client.get("/api/v1/models", headers=basic((USER[0], "not-the-password")))
    unknown = client.get("/api/v1/models", headers=basic(("mallory", "not-the-password")))
    assert wrong.status_code == 401
    assert _strip(wrong) == _strip(unknown)


def _raw_auth(value: str | bytes) -> dict[str, str]:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return {"Authorization": value}


@pytest.mark.parametrize("value", [
    "Basic !!!notbase64!!!",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff\xfe").decode(),     # not UTF-8
    "Basic " + base64.b64encode(b":" + USER[1].encode()).decode(),  # empty user name
    "Basic",
    "Basic ",
    "Bearer abc.def.ghi",
    "Digest username=\"bob\"",
    "Digest " + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode(),  # only Basic carries a password
    "Basic " + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode() + "*",  # not all base64
    "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
    "Basic " + base64.b64encode(b"bob:" + b"x" * 6000).decode(),    # row 67: huge password
    "Basic " + base64.b64encode(b"x" * 6000 + b":pw").decode(),     # huge user name
    b"Basic \xc3\xa9\xc3\xa9",
])
def test_malformed_authorization_is_a_clean_401(client, value):
    """Rows 66-67: never a 500, always the same JSON challenge."""
    response = client.get("/api/v1/models", headers=_raw_auth(value))
    assert_clean_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/api/v1/models", headers=basic(USER)).status_code == 200


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_the_scheme_is_case_insensitive(client, scheme):
    token = base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()
    assert client.get("/api/v1/models", headers={"Authorization": f"{scheme} {token}"}).status_code == 200


@pytest.mark.parametrize("query", [
    f"username={USER[0]}&password={USER[1]}",
    f"user={USER[0]}&pass={USER[1]}",
    "auth=" + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode(),
    "access_token=" + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode(),
])
def test_credentials_in_the_query_string_are_ignored(client, query):
    """Row 68."""
    assert_clean_error(client.get(f"/api/v1/models?{query}"), 401)
    form = dict(pair.split("=", 1) for pair in query.split("&"))
    assert_clean_error(client.post("/api/v1/models/iris:predict", data=form), 401)


@pytest.fixture
def strict_app(model_store, tmp_path):
    """Three failures lock an account out; plus an admin-only route to test roles."""
    app = make_app(model_store, tmp_path / "instance", AUTH_MAX_FAILURES=3, AUTH_LOCKOUT_WINDOW=120)

    @app.get("/api/admin-only")
    @auth.login_required(role="admin")
    def admin_only():
        return {"ok": True}

    return app


def test_brute_force_is_locked_out_per_account_and_client(strict_app):
    """Row 69."""
    client = strict_app.test_client()
    for _ in range(3):
        assert_clean_error(client.get("/api/v1/models", headers=basic((USER[0], "guess-guess"))), 401)
    locked = client.get("/api/v1/models", headers=basic(USER))  # even the right password now
    assert_clean_error(locked, 429, "Too many")
    assert 0 < int(locked.headers["Retry-After"]) <= 120
    # another account from the same client, and the same account from another client, are fine
    assert client.get("/api/v1/models", headers=basic(ADMIN)).status_code == 200
    other = client.get("/api/v1/models", headers=basic(USER), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_missing_admin_role_is_403_json(strict_app):
    """Row 70."""
    client = strict_app.test_client()
    assert_clean_error(client.get("/api/admin-only", headers=basic(USER)), 403, "admin")
    assert client.get("/api/admin-only", headers=basic(ADMIN)).get_json() == {"ok": True}
    assert_clean_error(client.get("/api/admin-only"), 401)


def test_changing_the_users_file_drops_remembered_credentials(app):
    """The verified-credential memory must not outlive a password change made by another process."""
    client = app.test_client()
    assert client.get("/api/v1/models", headers=basic(USER)).status_code == 200  # now remembered
    other_process = UserStore(app.extensions["podium.users"].path)
    other_process.set_password(USER[0], "a-new-password")
    assert_clean_error(client.get("/api/v1/models", headers=basic(USER)), 401)
    assert client.get("/api/v1/models", headers=basic((USER[0], "a-new-password"))).status_code == 200
    other_process.remove(USER[0])
    assert_clean_error(client.get("/api/v1/models", headers=basic((USER[0], "a-new-password"))), 401)


def test_password_hashes_not_passwords_are_stored(app):
    text = app.extensions["podium.users"].path.read_text()
    assert USER[1] not in text
    assert ADMIN[1] not in text
    assert "scrypt:" in text or "pbkdf2:" in text


def _first_start(demo_store, instance, printed: io.StringIO):
    """create_app as a worker's first start; what it prints to stderr goes to `printed`.

    (Not capsys: create_app sets up logging on the current stderr, which capsys closes afterwards.)
    """
    with contextlib.redirect_stderr(printed):
        return create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                           "SECRET_KEY": "x", "USERS_FILE": str(instance / "users.json")})


def test_first_start_creates_admin_once_with_a_random_password(demo_store, tmp_path):
    printed = io.StringIO()
    app = _first_start(demo_store, tmp_path, printed)
    match = re.search(r"password:\s+(\S+)", printed.getvalue())
    assert match, printed.getvalue()
    password = match.group(1)
    assert len(password) >= 16
    path = tmp_path / "users.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert password not in path.read_text()
    client = app.test_client()
    assert client.get("/api/v1/models", headers=basic(("admin", password))).status_code == 200
    again = io.StringIO()
    _first_start(demo_store, tmp_path, again)
    assert "password" not in again.getvalue()
    elsewhere = io.StringIO()
    _first_start(demo_store, tmp_path / "other", elsewhere)
    assert "created the user 'admin'" in elsewhere.getvalue()
    assert password not in elsewhere.getvalue()  # a different random password each time


# A gunicorn worker in miniature: wait for a shared start time, then run create_app. Real workers
# are processes (and CPython 3.11's compiler, which Werkzeug's routing uses, is not thread-safe).
_WORKER = """
import json, sys, time
from unittest import mock
from flask import Flask
from webapp import create_app
config, start_at, instance = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
with mock.patch.object(Flask, "auto_find_instance_path", return_value=instance):
    while time.time() < start_at:
        time.sleep(0.001)
    app = create_app(config)
print("KEY=" + app.config["SECRET_KEY"])
"""


def _start_workers_together(config: dict, instance, count: int = 4) -> list[tuple[str, str]]:
    """(stdout, stderr) of `count` processes that run create_app at the same instant."""
    env = {k: v for k, v in os.environ.items() if k != "PODIUM_SECRET_KEY"}
    start_at = time.time() + 6  # every process has imported Podium by then
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(config), str(start_at),
                               str(instance)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * count, outputs
    return outputs


def test_two_workers_starting_together_create_one_admin(demo_store, tmp_path):
    users = tmp_path / "users.json"
    outputs = _start_workers_together(
        {"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
         "SECRET_KEY": "x", "USERS_FILE": str(users)}, tmp_path / "instance")
    printed = "".join(err for _, err in outputs)
    assert printed.count("created the user 'admin'") == 1
    password = re.search(r"password:\s+(\S+)", printed).group(1)
    assert UserStore(users).verify("admin", password) == "admin"
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    # and a whole app starting now on the same folder creates nobody
    later = io.StringIO()
    _first_start(demo_store, tmp_path, later)
    assert "created the user" not in later.getvalue()


def test_workers_starting_together_share_one_complete_secret_key(demo_store, tmp_path):
    """Each worker runs create_app at once on a fresh instance folder: one key, never a torn read."""
    instance = tmp_path / "instance"
    instance.mkdir()
    outputs = _start_workers_together(
        {"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
         "CREATE_ADMIN": False, "USERS_FILE": str(tmp_path / "users.json")}, instance)
    keys = [re.search(r"KEY=(\S+)", out).group(1) for out, _ in outputs]
    assert len(set(keys)) == 1
    assert len(keys[0]) == 64
    assert stat.S_IMODE(os.stat(instance / "secret_key").st_mode) == 0o600
    # nothing half-made is left behind (the key's and the log hash key's temporary files)
    assert "secret_key" in {p.name for p in instance.iterdir()}
    assert not [p.name for p in instance.iterdir() if p.name.startswith(".")]

"""Basic auth on the APIs (ROBUSTNESS rows 64-70) and the first-start admin."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import stat
import threading

import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.helpers import IRIS_ROW, assert_clean_error
from webapp import create_app
from webapp.auth import auth
from webapp.users import UserStore

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
    headers = sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")
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


def _import_everything_once(demo_store, tmp_path) -> None:
    """Import and compile what create_app needs before racing threads through it.

    CPython 3.11's compiler is not safe to run from several threads at once ("AST constructor
    recursion depth mismatch"); real workers are processes, and the races under test are files.
    """
    create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                "SECRET_KEY": "x", "CREATE_ADMIN": False, "USERS_FILE": str(tmp_path / "warm.json")})


def test_two_workers_starting_together_create_one_admin(demo_store, tmp_path):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    printed = io.StringIO()
    users = tmp_path / "users.json"
    _import_everything_once(demo_store, tmp_path)

    def start() -> None:
        barrier.wait()
        try:
            create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                        "SECRET_KEY": "x", "USERS_FILE": str(users)})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    with contextlib.redirect_stderr(printed):  # one swap around all four threads
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert printed.getvalue().count("created the user 'admin'") == 1
    password = re.search(r"password:\s+(\S+)", printed.getvalue()).group(1)
    assert UserStore(users).verify("admin", password) == "admin"
    # and a whole app starting now on the same folder creates nobody
    later = io.StringIO()
    _first_start(demo_store, tmp_path, later)
    assert "created the user" not in later.getvalue()


def test_workers_starting_together_share_one_complete_secret_key(demo_store, tmp_path):
    """Each worker runs create_app at once on a fresh instance folder: one key, never a torn read."""
    barrier = threading.Barrier(4)
    keys: list[str] = []
    instance = tmp_path / "instance"
    instance.mkdir()
    _import_everything_once(demo_store, tmp_path)

    def start() -> None:
        barrier.wait()
        app = create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                          "CREATE_ADMIN": False, "USERS_FILE": str(tmp_path / "users.json")})
        keys.append(app.config["SECRET_KEY"])

    original = os.environ.pop("PODIUM_SECRET_KEY", None)
    try:
        from unittest import mock

        from flask import Flask

        # the instance folder is the repository's; point this test's apps at a fresh one
        with mock.patch.object(Flask, "auto_find_instance_path", return_value=str(instance)):
            threads = [threading.Thread(target=start) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        if original is not None:
            os.environ["PODIUM_SECRET_KEY"] = original
    assert len(keys) == 4
    assert len(set(keys)) == 1
    assert len(keys[0]) == 64
    assert stat.S_IMODE(os.stat(instance / "secret_key").st_mode) == 0o600
    assert sorted(p.name for p in instance.iterdir()) == ["secret_key"]

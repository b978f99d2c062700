"""PODIUM_INSTANCE_PATH: the folder instances of one service share (users, secret key, jobs)."""

from __future__ import annotations

from webapp import create_app
from webapp.accounts.users import UserStore


def _app(demo_store, **config):
    return create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                       "CREATE_ADMIN": False, "MONITORING": False, **config})


def test_the_environment_names_the_instance_folder(demo_store, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    UserStore(shared / "users.json").add("carol", "carol-password", "admin")
    monkeypatch.setenv("PODIUM_INSTANCE_PATH", str(shared))
    monkeypatch.delenv("PODIUM_SECRET_KEY", raising=False)
    first, second = _app(demo_store), _app(demo_store)
    assert first.instance_path == str(shared)
    assert first.config["INSTANCE_PATH"] == str(shared)
    # one key made in the shared folder, read by every app over it
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (shared / "secret_key").read_text().strip() == first.config["SECRET_KEY"]
    # the users file is relative to it: a user added once exists for both
    with second.app_context():
        assert second.extensions["podium.users"].verify("carol", "carol-password") == "admin"
    assert first.extensions["podium.jobs"].root == shared / "jobs"


def test_a_relative_folder_is_made_absolute_and_the_config_wins(demo_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODIUM_INSTANCE_PATH", "from-env")
    assert _app(demo_store).instance_path == str(tmp_path / "from-env")
    app = _app(demo_store, INSTANCE_PATH="given")
    assert app.instance_path == str(tmp_path / "given")
    assert (tmp_path / "given" / "secret_key").is_file()


def test_without_it_flask_s_folder_beside_the_code_is_used(demo_store, monkeypatch):
    monkeypatch.delenv("PODIUM_INSTANCE_PATH", raising=False)
    app = _app(demo_store, SECRET_KEY="x")
    assert app.instance_path.endswith("/instance")
    assert app.config["INSTANCE_PATH"] == app.instance_path

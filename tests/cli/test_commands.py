"""The operator commands: `flask models list|check`, `flask users ...`, `flask demos train`."""

from __future__ import annotations

import json

from tests.conftest import make_app
from tests.support.helpers import version_files
from webapp.accounts.users import UserStore
from webapp.serving.models.store import ModelStore


def test_models_list(runner):
    result = runner.invoke(args=["models", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == {"diabetes", "digits", "helpdesk", "iris", "movies", "wine"}
    assert "default=2" in lines["iris"]
    assert "versions=[1:AVAILABLE, 2:AVAILABLE]" in lines["iris"]


def test_models_check_passes_then_fails_on_a_broken_version(app, runner):
    result = runner.invoke(args=["models", "check"])
    assert result.exit_code == 0, result.output
    assert "ok    digits/1 via " in result.output
    assert "ok    iris/2 via " in result.output
    root = app.extensions["podium.service"].store.root
    files = version_files(root / "iris" / "1")
    files["model.skops"] = b"garbage"
    ModelStore(root).publish("iris", files)
    result = runner.invoke(args=["models", "check"])
    assert result.exit_code == 1
    assert "FAIL  iris/3" in result.output
    assert "ok    iris/2" in result.output


def test_users_add_list_passwd_remove(app, runner):
    users_file = app.extensions["podium.users"].path
    result = runner.invoke(args=["users", "add", "carol", "--role", "admin", "--password", "carol-pass-1"])
    assert result.exit_code == 0, result.output
    assert "Added carol (admin)" in result.output
    assert UserStore(users_file).verify("carol", "carol-pass-1") == "admin"
    listing = runner.invoke(args=["users", "list"]).output.splitlines()
    assert "carol\tadmin" in listing
    assert "bob\tuser" in listing
    result = runner.invoke(args=["users", "passwd", "carol"], input="carol-pass-2\ncarol-pass-2\n")
    assert result.exit_code == 0, result.output
    assert UserStore(users_file).verify("carol", "carol-pass-1") is None
    assert UserStore(users_file).verify("carol", "carol-pass-2") == "admin"
    result = runner.invoke(args=["users", "remove", "carol"])
    assert result.exit_code == 0
    assert "carol" not in runner.invoke(args=["users", "list"]).output


def test_users_commands_refuse_bad_input(runner):
    result = runner.invoke(args=["users", "add", "dave", "--password", "short"])
    assert result.exit_code == 1
    assert "Passwords are 8 to" in result.output
    result = runner.invoke(args=["users", "add", "a:b", "--password", "long-enough"])
    assert result.exit_code == 1
    assert "without ':'" in result.output
    result = runner.invoke(args=["users", "add", "eve", "--role", "root", "--password", "long-enough"])
    assert result.exit_code == 2
    result = runner.invoke(args=["users", "remove", "nobody"])
    assert result.exit_code == 1
    assert "No user 'nobody'" in result.output
    result = runner.invoke(args=["users", "passwd", "nobody", "--password", "long-enough"])
    assert result.exit_code == 1


def test_demos_train_only_iris_into_an_empty_store(tmp_path):
    store = tmp_path / "store"
    app = make_app(store, tmp_path / "instance")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demos", "train", "--only", "iris"])
    assert result.exit_code == 0, result.output
    assert "Published: iris/1, iris/2" in result.output
    manifest = json.loads((store / "iris" / "2" / "model.json").read_text())
    assert manifest["framework"] == "sklearn"
    assert manifest["metrics"]["accuracy"] > 0.85
    assert [f["name"] for f in manifest["inputs"]["features"]][0] == "sepal length (cm)"
    assert sorted(p.name for p in store.iterdir()) == ["iris"]
    result = runner.invoke(args=["demos", "train", "--only", "iris"])
    assert "nothing (all present)" in result.output
    assert runner.invoke(args=["models", "check"]).exit_code == 0


def test_first_start_password_survives_a_silenced_stdout(tmp_path):
    """./scripts/serve runs `flask users list >/dev/null` to create the admin: the password must
    reach the operator anyway (stderr), while stdout stays the plain user list."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PODIUM_USERS_FILE": str(tmp_path / "users.json"),
           "PODIUM_MODEL_STORE": str(tmp_path / "store"), "PODIUM_SECRET_KEY": "cli-test",
           "PODIUM_BACKGROUND_LOADING": "false"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "users", "list"], cwd=root,
                            env=env, capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout == "admin\tadmin\n"
    password = re.search(r"password:\s+(\S+)", result.stderr).group(1)
    assert UserStore(tmp_path / "users.json").verify("admin", password) == "admin"

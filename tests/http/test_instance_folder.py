"""PODIUM_INSTANCE_PATH puts everything an instance keeps (secret key, users, snapshots) in one folder."""

from __future__ import annotations

import os

from tests.conftest import ADMIN, basic, make_app
from webapp import create_app
from webapp.pages.ops import HOST


def test_the_secret_key_and_users_live_in_the_named_folder(tmp_path, monkeypatch, demo_store):
    folder = tmp_path / "shared-instance"
    monkeypatch.setenv("PODIUM_INSTANCE_PATH", str(folder))
    app = create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                      "CREATE_ADMIN": False, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}"})
    assert app.instance_path == str(folder)
    assert (folder / "secret_key").stat().st_mode & 0o777 == 0o600
    again = create_app({"TESTING": True, "MODEL_STORE": str(demo_store), "BACKGROUND_LOADING": False,
                        "CREATE_ADMIN": False, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}"})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]  # a second instance agrees


def test_each_instance_writes_its_worker_snapshots_in_its_own_folder(tmp_path, demo_store):
    """/ops adds up the snapshots in the instance folder: two instances in one checkout must not
    count each other's workers (they did, through the shared `instance/` beside the code)."""
    for name in ("one", "two"):
        app = make_app(demo_store, tmp_path / name)
        assert app.test_client().get("/ops/stats.json", headers=basic(ADMIN)).status_code == 200
        assert [p.name for p in (tmp_path / name / "workers").iterdir()] == [f"{HOST}-{os.getpid()}.json"]

"""Fixtures around the app factory: a store of real demo models trained once per session."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from webapp import create_app
from webapp.demos import train_demos
from webapp.serving.service import ModelService

ADMIN = ("alice", "alice-password")
USER = ("bob", "bob-password1")


def basic(user: tuple[str, str]) -> dict[str, str]:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """The demo models, trained once for the whole run. Treat as read-only: copy to change it."""
    root = tmp_path_factory.mktemp("demo-store")
    train_demos(root)
    # convert and verify every version once, so each private copy inherits the acceleration cache
    ModelService(str(root)).refresh()
    return root


@pytest.fixture
def model_store(demo_store: Path, tmp_path: Path) -> Path:
    """A private copy of the demo store that a test may change."""
    root = tmp_path / "store"
    shutil.copytree(demo_store, root)
    return root


def make_app(store: Path, instance: Path, **extra):
    config = {
        "TESTING": True, "MODEL_STORE": str(store), "BACKGROUND_LOADING": False,
        "CREATE_ADMIN": False, "USERS_FILE": str(instance / "users.json"),
        "SECRET_KEY": "test-secret", "POLL_INTERVAL": 0.2,
        "INSTANCE_PATH": str(instance),  # each app its own: key, snapshots, database
        "DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}", **extra,
    }
    app = create_app(config)
    users = app.extensions["podium.users"]
    users.add(*ADMIN, role="admin")
    users.add(*USER, role="user")
    app.extensions["podium.service"].refresh()
    return app


@pytest.fixture(scope="session")
def shared_app(demo_store: Path, tmp_path_factory):
    """One app over the read-only demo store, for the many tests that change nothing."""
    return make_app(demo_store, tmp_path_factory.mktemp("instance"))


@pytest.fixture
def app(model_store: Path, tmp_path: Path):
    """A private app over a private store, for tests that publish, relabel or break models."""
    return make_app(model_store, tmp_path / "instance")


@pytest.fixture(scope="module")
def logged_app(demo_store: Path, tmp_path_factory):
    """An app over the read-only demo store whose prediction log writes (its own database)."""
    app = make_app(demo_store, tmp_path_factory.mktemp("logged"))
    watch = app.extensions["podium.monitoring"]
    watch.log.start()
    yield app
    watch.close()


@pytest.fixture
def client(shared_app):
    return shared_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return basic(ADMIN)


@pytest.fixture
def user_headers() -> dict[str, str]:
    return basic(USER)

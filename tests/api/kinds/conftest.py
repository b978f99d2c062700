"""An app over a store with only the two kinds that take no tensor (fast to train): movies, helpdesk."""

from __future__ import annotations

import pytest

from tests.conftest import make_app
from tests.support.monitoring import watch_of
from webapp.demos import train_demos


@pytest.fixture(scope="session")
def kinds_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds-store")
    train_demos(root, {"movies", "helpdesk"})
    return root


@pytest.fixture(scope="module")
def kinds_app(kinds_store, tmp_path_factory):
    return make_app(kinds_store, tmp_path_factory.mktemp("kinds-instance"))


@pytest.fixture
def kclient(kinds_app):
    return kinds_app.test_client()


@pytest.fixture(scope="module")
def logging_kinds_app(kinds_store, tmp_path_factory):
    """An app over the kinds' store whose prediction log is written (its writer started)."""
    app = make_app(kinds_store, tmp_path_factory.mktemp("kinds-logged"))
    watch_of(app).log.start()
    yield app
    watch_of(app).close()

"""A publish may carry a larger body than any other request (PODIUM_PUBLISH_MAX_CONTENT_LENGTH),
on the same two routes where nginx allows it: the API's .../versions and the admin page's form."""

from __future__ import annotations

import io

import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.support.pages import csrf

LIMIT, PUBLISH_LIMIT = 100_000, 400_000


@pytest.fixture(scope="module")
def app(demo_store, tmp_path_factory):
    return make_app(demo_store, tmp_path_factory.mktemp("limits"), MAX_CONTENT_LENGTH=LIMIT,
                    PUBLISH_MAX_CONTENT_LENGTH=PUBLISH_LIMIT)


def _parts(size: int) -> dict:
    """A manifest and an artifact of `size` bytes that is no model: refused by validation, not size."""
    return {"manifest": (io.BytesIO(b"{not json"), "model.json"),
            "artifact": (io.BytesIO(b"x" * size), "model.skops")}


def test_a_publish_between_the_two_limits_is_read_and_validated(app):
    r = app.test_client().post("/api/v2/repository/models/iris/versions", data=_parts(200_000),
                               headers=basic(ADMIN))
    assert r.status_code == 400, r.get_json()
    assert "too large" not in r.get_json()["error"]


def test_a_publish_over_its_limit_is_413_json(app):
    r = app.test_client().post("/api/v2/repository/models/iris/versions", data=_parts(500_000),
                               headers=basic(ADMIN))
    assert r.status_code == 413
    assert "too large" in r.get_json()["error"]


def test_other_requests_keep_the_general_limit(app):
    body = b'{"instances": [' + b"[5.1, 3.5, 1.4, 0.2]," * 10_000 + b"[1, 2, 3, 4]]}"
    assert LIMIT < len(body) < PUBLISH_LIMIT
    r = app.test_client().post("/api/v1/models/iris:predict", data=body, headers=basic(USER),
                               content_type="application/json")
    assert r.status_code == 413


def test_the_admin_page_publishes_between_the_limits_too(app):
    client = app.test_client()
    token = csrf(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    token = csrf(client.get("/admin").text)
    r = client.post("/admin/publish", data={"csrf_token": token, "name": "iris", **_parts(200_000)})
    assert r.status_code == 400
    assert "not valid JSON" in r.text
    r = client.post("/admin/publish", data={"csrf_token": token, "name": "iris", **_parts(500_000)})
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/api/v1/models/iris:predict", "/api/v2/models/iris/infer"])
def test_a_prediction_over_the_limit_is_413_and_one_cut_short_is_400_json(app, path):
    """Bodies with a Content-Length are read straight from the server's input: the limit and a
    client that sends less than it declared are still answered in JSON, never a 500."""
    client = app.test_client()
    big = b'{"instances": [' + b"[5.1, 3.5, 1.4, 0.2], " * 10_000 + b"[5.1, 3.5, 1.4, 0.2]]}"
    r = client.post(path, data=big, headers={**basic(USER), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert "error" in r.get_json()
    short = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    r = client.post(path, data=short, headers={**basic(USER), "Content-Type": "application/json"},
                    environ_overrides={"CONTENT_LENGTH": str(len(short) + 50)})
    assert r.status_code == 400
    assert "error" in r.get_json()
    ok = client.post(path, data=short, headers={**basic(USER), "Content-Type": "application/json"})
    assert ok.status_code == (200 if "v1" in path else 400)  # v2 wants its own body shape

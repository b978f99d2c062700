"""Admin pages through the test client: load/unload, labels, publish validation, audit, CSRF."""

from __future__ import annotations

import io

import pytest

from tests.conftest import ADMIN
from tests.support.pages import csrf
from webapp.serving.errors import InvalidInput
from webapp.serving.models.versions import parse_split


@pytest.fixture
def admin(app):
    client = app.test_client()
    token = csrf(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    return client


def post(client, path: str, **data):
    token = csrf(client.get("/admin").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


def test_unload_and_load_a_model_from_the_admin_page(admin, app):
    page = post(admin, "/admin/models/wine/unload")
    assert "wine is unloaded" in page.text
    assert app.extensions["podium.service"].models()["wine"].versions == {}
    assert "Load wine" in page.text
    page = post(admin, "/admin/models/wine/load")
    assert "wine is being loaded" in page.text
    assert 1 in app.extensions["podium.service"].models()["wine"].versions
    audit = admin.get("/admin").text
    assert audit.index(">load<") < audit.index(">unload<")  # newest first
    assert ADMIN[0] in audit


def test_move_a_label(admin, app):
    page = post(admin, "/admin/models/iris/label", label="stable", version="1")
    assert "label &#39;stable&#39; now points at version 1" in page.text
    assert app.extensions["podium.service"].models()["iris"].labels == {"stable": 1}
    page = post(admin, "/admin/models/iris/label", label="stable", version="9")
    assert "no such version" in page.text
    page = post(admin, "/admin/models/iris/label", label="", version="1")
    assert "Give the label a name" in page.text


def test_admin_posts_need_a_csrf_token(admin, app):
    response = admin.post("/admin/models/wine/unload")
    assert response.status_code == 400
    assert app.extensions["podium.service"].models()["wine"].versions


def test_publish_validation_errors_stay_on_the_page(admin):
    token = csrf(admin.get("/admin").text)
    response = admin.post("/admin/publish", data={
        "csrf_token": token, "name": "newmodel",
        "manifest": (io.BytesIO(b"{not json"), "model.json"),
        "artifact": (io.BytesIO(b"x"), "model.skops")})
    assert response.status_code == 400
    assert "not valid JSON" in response.text
    assert 'value="newmodel"' in response.text
    response = admin.post("/admin/publish", data={
        "csrf_token": token, "name": "../evil", "manifest": (io.BytesIO(b"{}"), "model.json"),
        "artifact": (io.BytesIO(b"x"), "model.skops")})
    assert response.status_code == 400
    assert "Model name must be" in response.text


def test_rollback_moves_the_default_back(admin, app):
    post(admin, "/admin/models/iris/rollback")
    assert app.extensions["podium.service"].models()["iris"].default_version == 1


def test_split_text_is_parsed_plainly():
    assert parse_split("1=90, 2=10") == {1: 90, 2: 10}
    assert parse_split("1:50 2:50") == {1: 50, 2: 50}
    assert parse_split("  ") is None
    with pytest.raises(InvalidInput, match="add up to 100"):
        parse_split("1=90, 2=20")
    with pytest.raises(InvalidInput, match="version must be a positive integer"):
        parse_split("one=100")
    with pytest.raises(InvalidInput, match="version=weight"):
        parse_split("1=ninety, 2=10")


def test_publish_a_version_from_the_admin_page(admin, app, model_store):
    source = model_store / "iris" / "1"
    token = csrf(admin.get("/admin").text)
    response = admin.post("/admin/publish", follow_redirects=True, data={
        "csrf_token": token, "name": "iris",
        "manifest": (io.BytesIO((source / "model.json").read_bytes()), "my-manifest.json"),
        "artifact": (io.BytesIO((source / "model.skops").read_bytes()), "whatever.skops")})
    assert "Published iris version 3" in response.text
    assert (model_store / "iris" / "3" / "model.skops").is_file()


def test_set_and_clear_a_traffic_split(admin, app):
    page = post(admin, "/admin/models/iris/split", split="1=30, 2=70")
    assert "traffic split set to version 1: 30%, version 2: 70%" in page.text
    assert 'value="1=30, 2=70"' in page.text
    page = post(admin, "/admin/models/iris/split", split="1=30, 2=80")
    assert "add up to 100" in page.text
    page = post(admin, "/admin/models/iris/split", split="")
    assert "traffic split removed" in page.text

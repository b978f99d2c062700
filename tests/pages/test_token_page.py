"""The page where a person makes, sees and revokes their own API tokens (CSRF-protected forms)."""

from __future__ import annotations

import re

from tests.conftest import USER
from tests.support.helpers import IRIS_ROW
from tests.support.pages import accessibility_problems, csrf


def login(client, user=USER) -> None:
    token = csrf(client.get("/login").text)
    r = client.post("/login", data={"csrf_token": token, "username": user[0], "password": user[1]})
    assert r.status_code == 302, r.text


def test_anonymous_visitors_are_sent_to_log_in(app):
    r = app.test_client().get("/tokens")
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]


def test_make_use_and_revoke_a_token_from_the_page(app):
    client = app.test_client()
    login(client)
    page = client.get("/tokens")
    assert page.status_code == 200
    assert "You have no tokens yet" in page.text
    assert accessibility_problems(page.text) == []
    refused = client.post("/tokens", data={"name": "laptop", "scope": "predict"})
    assert refused.status_code in (400, 403)  # no CSRF token
    made = client.post("/tokens", data={"csrf_token": csrf(page.text), "name": "laptop",
                                        "scope": "predict", "days": "30"})
    assert made.status_code == 201
    secret = re.search(r"data-token>(pdm_[^<]+)<", made.text).group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    predicted = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=bearer)
    assert predicted.status_code == 200
    listed = client.get("/tokens").text
    assert "laptop" in listed
    assert secret not in listed  # shown once only
    token_id = re.search(r'data-token-id="([0-9a-f]+)"', listed).group(1)
    revoked = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf(listed)})
    assert revoked.status_code == 303
    assert "revoked" in client.get("/tokens").text
    again = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=bearer)
    assert again.status_code == 401


def test_bad_forms_and_other_peoples_tokens_are_refused(app):
    alices_token = app.extensions["podium.tokens"].create("alice", "hers")[1]
    client = app.test_client()
    login(client)
    token = csrf(client.get("/tokens").text)
    bad = client.post("/tokens", data={"csrf_token": token, "name": "x", "days": "soon"})
    assert bad.status_code == 400
    assert "number of days" in bad.text
    theirs = client.post(f"/tokens/{alices_token.id}/revoke", data={"csrf_token": token})
    assert theirs.status_code == 404
    assert app.extensions["podium.tokens"].get(alices_token.id).state() == "active"

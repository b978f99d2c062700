"""The session cookie: API calls (no cookie sent, the session untouched) get none and no
`Vary: Cookie`; a page login still sets one, and the cookie still logs the browser in."""

from __future__ import annotations

from tests.conftest import ADMIN
from tests.support.helpers import IRIS_ROW
from tests.support.pages import csrf


def test_an_api_call_gets_no_session_cookie(client, user_headers):
    r = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
    assert "Cookie" not in r.headers.get("Vary", "")


def test_a_page_login_still_sets_and_reads_its_cookie(shared_app):
    browser = shared_app.test_client()
    form = browser.get("/login")
    assert "Cookie" in form.headers.get("Vary", "")  # the form's CSRF token lives in the session
    token = csrf(form.text)
    login = browser.post("/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    assert login.status_code in (302, 303)
    assert "session=" in login.headers["Set-Cookie"]
    assert browser.get("/admin").status_code == 200  # the cookie alone says who is looking
    stranger = shared_app.test_client()
    assert stranger.get("/admin").status_code != 200

"""API tokens through the test client: made once, used as Bearer or as the basic-auth password,
scoped, expired, revoked, throttled, never stored or logged in the clear; the CLI."""

from __future__ import annotations

import base64
import logging
import time

import pytest
import sqlalchemy as sa

from tests.support.helpers import IRIS_ROW, assert_clean_error
from webapp.serving.monitoring.database import LogDatabase

PREDICT = "/api/v1/models/iris:predict"
BODY = {"instances": [IRIS_ROW]}
V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def as_password(secret: str, user: str = "anyone") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def make(client, headers, **body) -> dict:
    r = client.post("/api/tokens", json={"name": "ci", **body}, headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


@pytest.fixture
def client(app):
    return app.test_client()


def test_a_token_is_shown_once_stored_as_a_digest_and_works_both_ways(app, client, user_headers):
    made = make(client, user_headers, scope="predict", expires_in_days=30)
    secret = made["token"]
    assert secret.startswith("pdm_")
    assert len(secret) >= 40
    assert (made["user"], made["scope"], made["state"]) == ("bob", "predict", "active")
    listed = client.get("/api/tokens", headers=user_headers).get_json()["tokens"]
    assert [t["id"] for t in listed] == [made["id"]]
    assert secret not in str(listed)
    with app.extensions["podium.tokens"].db.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM api_tokens"))]
    assert secret not in str(stored)
    for headers in (bearer(secret), as_password(secret), as_password(secret, "")):
        r = client.post(PREDICT, json=BODY, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
    v2 = client.post("/api/v2/models/iris/infer", json=V2_BODY, headers=bearer(secret))
    assert v2.status_code == 200
    app.extensions["podium.tokens"].forget()  # the next check writes the last use
    client.get("/api/v1/models/iris", headers=bearer(secret))
    used = client.get("/api/tokens", headers=user_headers).get_json()["tokens"][0]
    assert used["last_used_at"] == pytest.approx(time.time(), abs=30)


def test_scopes_limit_what_a_token_may_do(client, user_headers, admin_headers):
    read = make(client, user_headers, scope="read")["token"]
    assert client.get("/api/v1/models/iris/metadata", headers=bearer(read)).status_code == 200
    assert client.post("/api/v2/repository/index", headers=bearer(read)).status_code == 200
    assert_clean_error(client.post(PREDICT, json=BODY, headers=bearer(read)), 403, "scope is read")
    refused = client.post("/api/v2/models/iris/infer", json=V2_BODY, headers=bearer(read))
    assert_clean_error(refused, 403, "scope is read")
    admins_predict = make(client, admin_headers, scope="predict")["token"]
    unload = "/api/v2/repository/models/iris/load"
    assert_clean_error(client.post(unload, headers=bearer(admins_predict)), 403, "admin")
    admins_admin = make(client, admin_headers, scope="admin")["token"]
    assert client.post(unload, headers=bearer(admins_admin)).status_code == 200
    # a predict token cannot mint more tokens; an admin-scope one can
    assert_clean_error(client.post("/api/tokens", json={"name": "x"}, headers=bearer(admins_predict)),
                       403, "cannot manage tokens")
    assert make(client, bearer(admins_admin), user="bob")["user"] == "bob"


@pytest.mark.parametrize(("secret", "why"), [
    ("pdm_not-a-real-token-at-all", "unknown"),
    ("pdm_" + "x" * 200, "malformed"),
])
def test_bad_tokens_are_401_in_each_protocols_format(client, secret, why):
    assert_clean_error(client.post(PREDICT, json=BODY, headers=bearer(secret)), 401, why)
    assert_clean_error(client.post("/api/v2/models/iris/infer", json=V2_BODY, headers=bearer(secret)),
                       401, why)
    assert_clean_error(client.get("/api/v1/models/iris", headers=bearer("no-prefix")), 401)


def test_revoked_and_expired_tokens_are_refused(client, user_headers, admin_headers):
    made = make(client, user_headers)
    assert client.post(PREDICT, json=BODY, headers=bearer(made["token"])).status_code == 200
    assert_clean_error(client.delete(f"/api/tokens/{made['id']}", headers=basic_other(client)), 404)
    revoked = client.delete(f"/api/tokens/{made['id']}", headers=user_headers)
    assert revoked.get_json()["state"] == "revoked"
    assert_clean_error(client.post(PREDICT, json=BODY, headers=bearer(made["token"])), 401, "revoked")
    short = make(client, admin_headers, user="bob", expires_in_days=0.5 / 86400)
    time.sleep(0.6)
    assert_clean_error(client.post(PREDICT, json=BODY, headers=bearer(short["token"])), 401, "expired")


def basic_other(client) -> dict[str, str]:
    """A second plain user, who may not revoke bob's tokens."""
    client.application.extensions["podium.users"].add("carol", "carol-password1", "user")
    return as_password("carol-password1", "carol")


@pytest.mark.parametrize(("body", "needle"), [
    ({"name": ""}, "name"), ({"name": "x", "scope": "root"}, "scope"),
    ({"name": "x", "expires_in_days": "soon"}, "expires_in_days"),
    ({"name": "x", "expires_in_days": -1}, "Expiry"), ({"name": "x", "user": "alice"}, "admin"),
])
def test_bad_token_requests_are_4xx(client, user_headers, body, needle):
    assert_clean_error(client.post("/api/tokens", json=body, headers=user_headers), (400, 403), needle)


def test_a_flood_of_bad_tokens_is_locked_out_like_bad_passwords(client):
    answers = [client.get("/api/v1/models/iris", headers=bearer(f"pdm_guess-{i}")).status_code
               for i in range(12)]
    assert answers[:10] == [401] * 10
    assert answers[-1] == 429


def test_tokens_never_reach_the_log(client, user_headers, caplog):
    webapp_log = logging.getLogger("webapp")  # it does not propagate to the root caplog listens on
    webapp_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="webapp"):
            secret = make(client, user_headers)["token"]
            client.post(PREDICT, json=BODY, headers=bearer(secret))
            client.post(PREDICT, json=BODY, headers=bearer(secret + "x"))
    finally:
        webapp_log.removeHandler(caplog.handler)
    assert secret not in caplog.text


def test_the_cli_makes_lists_and_revokes(app, client):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "bob", "--name", "nightly", "--scope", "read"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert client.get("/api/v1/models/iris", headers=bearer(secret)).status_code == 200
    listed = runner.invoke(args=["tokens", "list", "--user", "bob"])
    assert "nightly" in listed.output
    assert "read" in listed.output
    assert secret not in listed.output
    token_id = listed.output.split("\t")[0]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/models/iris", headers=bearer(secret)).status_code == 401
    refused = runner.invoke(args=["tokens", "create", "nobody", "--name", "x"])
    assert refused.exit_code == 1
    assert "No user" in refused.output


def test_a_token_database_that_is_down_refuses_without_locking_anyone_out(app, client):
    """Tokens cannot be checked: 401 saying why, and the client is not counted as guessing."""
    store = app.extensions["podium.tokens"]
    secret = store.create("bob", "nightly")[0]
    store.db = LogDatabase(sa.create_engine("sqlite:////proc/no-such-dir/podium.sqlite3"))
    store.forget()
    answers = [client.get("/api/v1/models/iris", headers=bearer(secret)) for _ in range(12)]
    assert {a.status_code for a in answers} == {401}
    assert "unavailable" in answers[-1].get_json()["error"]

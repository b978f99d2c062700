"""Request ids and logs, security headers, no debug surface, no stack traces (rows 72-74, 76)."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid

import pytest

from tests.conftest import make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error, version_files
from webapp.logs import configure_logging


@pytest.mark.parametrize("given", ["abc-123", "0f1e2d3c4b5a", "trace.id:42_x", "a" * 128])
def test_a_well_formed_request_id_is_honoured(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", [None, "", "has space", "a" * 129, "semi;colon", "<script>", "ü"])
def test_otherwise_one_is_generated(client, given):
    headers = {"X-Request-ID": given} if given is not None else {}
    rid = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert client.get("/healthz").headers["X-Request-ID"] != rid


def test_podiums_own_id_is_unique_even_when_a_client_reuses_its_id(client):
    answers = [client.get("/healthz", headers={"X-Request-ID": "reused"}) for _ in range(2)]
    assert [a.headers["X-Request-ID"] for a in answers] == ["reused", "reused"]
    own = [a.headers["X-Podium-Request-ID"] for a in answers]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in own)
    assert own[0] != own[1]
    plain = client.get("/healthz")
    assert plain.headers["X-Request-ID"] == plain.headers["X-Podium-Request-ID"]


def test_podiums_ids_are_uuid7_in_time_order(client):
    """Time order keeps the prediction log's index on request ids growing at its end."""
    first = client.get("/healthz").headers["X-Podium-Request-ID"]
    time.sleep(0.002)  # the order is by millisecond; ids within one are random
    later = [client.get("/healthz").headers["X-Podium-Request-ID"] for _ in range(3)]
    assert [uuid.UUID(rid).version for rid in [first, *later]] == [7, 7, 7, 7]
    assert all(first < rid for rid in later)
    assert len({first, *later}) == 4


def test_request_ids_on_errors_and_api_answers(client, user_headers):
    r = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])
    r = client.get("/api/v1/models/nosuch", headers={**user_headers, "X-Request-ID": "err-1"})
    assert r.status_code == 404
    assert r.headers["X-Request-ID"] == "err-1"
    unauthorised = client.get("/api/v1/models", headers={"X-Request-ID": "auth-1"})
    assert unauthorised.headers["X-Request-ID"] == "auth-1"


@pytest.fixture
def json_logs(model_store, tmp_path):
    """An app logging JSON lines into a buffer we can read (the handler's real stream is stderr)."""
    app = make_app(model_store, tmp_path / "instance", LOG_FORMAT="json")
    buffer = io.StringIO()
    (handler,) = logging.getLogger("webapp").handlers
    handler.setStream(buffer)

    @app.get("/api/log-something")
    def log_something():
        logging.getLogger("webapp.test").warning("something happened for %s", "bob")
        return {"ok": True}

    @app.get("/api/explode")
    def explode():
        raise RuntimeError("secret-internal-detail")

    yield app, buffer
    configure_logging("text")


def _log_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_log_lines_carry_the_request_id(json_logs):
    app, buffer = json_logs
    client = app.test_client()
    response = client.get("/api/log-something", headers={"X-Request-ID": "log-test-1"})
    (entry,) = [e for e in _log_lines(buffer) if e["logger"] == "webapp.test"]
    assert entry["request_id"] == response.headers["X-Podium-Request-ID"]
    assert entry["client_request_id"] == "log-test-1"
    assert entry["message"] == "something happened for bob"
    assert entry["level"] == "WARNING"


def test_unexpected_errors_are_generic_and_logged_with_the_id(json_logs):
    """Row 76: the caller sees no traceback or detail; the log has both, under the request id."""
    app, buffer = json_logs
    client = app.test_client()
    r = client.get("/api/explode", headers={"X-Request-ID": "boom-1"})
    message = assert_clean_error(r, 500, "Internal error")
    assert "secret" not in message
    assert "RuntimeError" not in r.get_data(as_text=True)
    (entry,) = [e for e in _log_lines(buffer) if e.get("client_request_id") == "boom-1"]
    assert entry["request_id"] == r.headers["X-Podium-Request-ID"]
    assert "secret-internal-detail" in entry["exception"]
    page = client.get("/explode-page-does-not-exist")
    assert page.status_code == 404
    assert "Traceback" not in page.get_data(as_text=True)


def test_security_headers_everywhere(client, user_headers):
    """Row 73."""
    for response in (client.get("/healthz"), client.get("/"), client.get("/api/v1/models"),
                     client.get("/api/v1/models/nosuch", headers=user_headers),
                     client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                                 headers=user_headers)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    page = client.get("/")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"


def test_api_errors_are_json_never_html_even_for_script_names(client, user_headers):
    """Row 72: what a caller sends comes back only inside JSON strings."""
    name = "<script>alert(1)</script>"
    r = client.get(f"/api/v1/models/{name}", headers=user_headers)
    assert r.mimetype == "application/json"
    assert "<script>" in r.get_json()["error"]
    r = client.get(f"/no-such-page/{name}")
    assert "<script>alert(1)" not in r.get_data(as_text=True)


def test_no_debug_surface(shared_app, client):
    """Row 74: debug off, no Werkzeug console."""
    assert shared_app.debug is False
    assert client.get("/console").status_code == 404
    assert "Werkzeug" not in client.get("/console").get_data(as_text=True)


def test_the_home_page_escapes_what_a_manifest_says(app):
    """Row 72: a model's description and labels are data, never markup."""
    from webapp.serving.models.store import ModelStore

    root = app.extensions["podium.service"].store.root
    files = version_files(root / "iris" / "1")
    manifest = json.loads(files["model.json"])
    manifest["description"] = "<script>alert('desc')</script>"
    manifest["outputs"]["labels"] = ["<img src=x onerror=alert(1)>", "b", "c"]
    files["model.json"] = json.dumps(manifest).encode()
    ModelStore(root).publish("xss", files)
    app.extensions["podium.service"].refresh()
    page = app.test_client().get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page
    assert "<img src=x" not in page

"""ROBUSTNESS.md rows 28-34: odd routes, methods, model names and versions under /api/v1."""

from __future__ import annotations

import pytest

from tests.support.helpers import IRIS_ROW, assert_clean_error, assert_still_serving

BODY = {"instances": [IRIS_ROW]}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/nope", 404),
    ("GET", "/api/v1", (400, 404)),
    ("GET", "/api/v1/", (400, 404)),
    ("GET", "/api/v1/nothing/here", 400),
    ("POST", "/api/v1/models/iris:explain", 400),
    ("POST", "/api/v1/models/iris/versions/1:explain", 400),
    ("GET", "/api/v1/models/iris:predict", (400, 405)),
    ("PUT", "/api/v1/models/iris:predict", (400, 405)),
    ("DELETE", "/api/v1/models/iris", (400, 405)),
    ("POST", "/api/v1/models/iris/metadata", (400, 405)),
    ("POST", "/api/v2/nothing", (404, 405)),
])
def test_unknown_routes_and_methods_answer_json(client, user_headers, method, path, status):
    """Row 28: 404/405 (or TF Serving's 400 "Malformed request") as JSON under /api."""
    response = client.open(path, method=method, json=BODY, headers=user_headers)
    assert_clean_error(response, status if isinstance(status, tuple) else (status,))
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize("path", ["/api/v1/models/iris", "/api/v1/models/iris:predict", "/healthz",
                                  "/api/stats"])
def test_trace_is_refused_without_echo(client, user_headers, path):
    """Row 29: TRACE → 405 and the request's headers are not reflected."""
    headers = {**user_headers, "X-Secret-Probe": "reflect-me"}
    response = client.open(path, method="TRACE", headers=headers)
    assert response.status_code == 405
    text = response.get_data(as_text=True)
    assert "reflect-me" not in text
    assert user_headers["Authorization"].split()[1] not in text
    if path.startswith("/api"):
        assert_clean_error(response, 405)


@pytest.mark.parametrize("name", [
    "ｉｒｉｓ",                      # full-width
    "\u202eiris",                  # RTL override
    "iris\u200b",                  # zero-width space
    "%C3%28",                      # invalid UTF-8 percent-encoded
    "iris%00",                     # NUL
    "iris%0d%0aX-Injected:%20yes",  # CR-LF header injection attempt
    "<script>alert(1)</script>",
    "a" * 6000,                    # row 31
    "..",
    "...",
    ".hidden",
])
def test_odd_model_names_are_not_found(client, user_headers, name):
    """Rows 30-31: 4xx JSON, no header injection, the server carries on."""
    for response in (client.get(f"/api/v1/models/{name}", headers=user_headers),
                     client.post(f"/api/v1/models/{name}:predict", json=BODY, headers=user_headers),
                     client.get(f"/api/v1/models/{name}/metadata", headers=user_headers)):
        assert_clean_error(response, (400, 404, 414))
        assert "X-Injected" not in response.headers
        assert all("\n" not in v and "\r" not in v for _, v in response.headers.items())
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize("path", [
    "../../etc/passwd", "..%2f..%2fetc%2fpasswd", "..%252f..%252fetc%252fpasswd", "..\\..\\etc\\passwd",
    "%2fetc%2fpasswd", "/etc/passwd", "iris/../diabetes", "iris%2f..%2fdiabetes", "iris/versions/..%2f1",
])
def test_path_traversal_never_reads_a_file(client, user_headers, path):
    """Row 32: names are matched against the scanned store, never joined into a path."""
    for response in (client.get(f"/api/v1/models/{path}", headers=user_headers),
                     client.post(f"/api/v1/models/{path}:predict", json=BODY, headers=user_headers)):
        assert_clean_error(response, (400, 404))
        assert "root:" not in response.get_data(as_text=True)
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize("version", ["HELLO", "-1", "0", "1.5", "0x10", "1e3", "18446744073709551616",
                                     "%EF%BC%91", "1%20", "%201", "01a"])
def test_versions_that_are_not_positive_integers(client, user_headers, version):
    """Row 33: 400 "Failed to convert version" (or 404), never a 500."""
    for response in (client.get(f"/api/v1/models/iris/versions/{version}", headers=user_headers),
                     client.get(f"/api/v1/models/iris/versions/{version}/metadata", headers=user_headers),
                     client.post(f"/api/v1/models/iris/versions/{version}:predict", json=BODY,
                                 headers=user_headers)):
        message = assert_clean_error(response, (400, 404))
        if response.status_code == 400:
            assert "Failed to convert version" in message or "Malformed" in message
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/models/nosuch", "Servable not found for request: Latest(nosuch)"),
    ("/api/v1/models/iris/versions/99", "Servable not found for request: Specific(iris, 99)"),
    ("/api/v1/models/iris/versions/99/metadata", "Servable not found for request: Specific(iris, 99)"),
    ("/api/v1/models/iris/labels/nope", "Servable not found for request: Label(iris, nope)"),
])
def test_unknown_model_version_or_label_is_404(client, user_headers, path, expected):
    """Row 34."""
    response = client.get(path, headers=user_headers)
    assert assert_clean_error(response, 404) == expected
    response = client.post(path.removesuffix("/metadata") + ":predict", json=BODY, headers=user_headers)
    assert assert_clean_error(response, 404) == expected

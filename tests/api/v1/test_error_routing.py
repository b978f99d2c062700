"""Faults raised while a /api/v1 route is handled reach the right renderer: the v1 blueprint's
for input nested too deeply (a clean 400), the app's for anything unexpected (a generic 500,
the details only in the log). The faults are raised by a hook of the test's own app, after
routing has chosen the v1 view, as a fault inside the view would be."""

from __future__ import annotations

import logging

import pytest
from flask import request

from tests.conftest import make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error

FAULTS = {"unexpected": RuntimeError("secret-internal-detail"),
          "too-deep": RecursionError("maximum recursion depth exceeded")}


@pytest.fixture
def faulty(model_store, tmp_path):
    """An app whose requests raise the fault named by X-Test-Fault, and the log lines it writes."""
    app = make_app(model_store, tmp_path / "instance")

    @app.before_request
    def raise_fault():
        fault = FAULTS.get(request.headers.get("X-Test-Fault", ""))
        if fault is not None:
            raise fault

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("webapp.http.errors")
    logger.addHandler(handler)
    yield app.test_client(), records
    logger.removeHandler(handler)


def test_unexpected_error_on_a_v1_route_is_a_generic_logged_500(faulty, user_headers):
    client, records = faulty
    response = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                           headers={**user_headers, "X-Test-Fault": "unexpected"})
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal error; the server log has the details"}
    assert "secret" not in response.get_data(as_text=True)
    (record,) = [r for r in records if r.exc_info]
    assert "secret-internal-detail" in str(record.exc_info[1])
    assert record.getMessage() == "Unhandled error on POST /api/v1/models/iris:predict"


@pytest.mark.parametrize("path", ["/api/v1/models/iris:predict", "/api/v1/models/iris/metadata"])
def test_recursion_on_a_v1_route_is_a_json_parse_error(faulty, user_headers, path):
    client, records = faulty
    response = client.open(path, method="POST" if ":" in path else "GET", json={"instances": [IRIS_ROW]},
                           headers={**user_headers, "X-Test-Fault": "too-deep"})
    assert assert_clean_error(response, 400) == "JSON Parse error: the document is nested too deeply"
    assert not records


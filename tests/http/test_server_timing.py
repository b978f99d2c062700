"""Every prediction answer says where its time went (Server-Timing), and the statistics add it up."""

from __future__ import annotations

import re

import pytest

from tests.conftest import USER, make_app
from tests.support.helpers import IRIS_FEATURES, IRIS_ROW
from tests.support.pages import csrf

PHASES = ["queue", "decode", "compute", "encode"]
V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}


def phases(response) -> dict[str, float]:
    """The header as {name: milliseconds}, checking its syntax (RFC 8941-ish `name;dur=ms`)."""
    header = response.headers["Server-Timing"]
    parts = [re.fullmatch(r"([a-z]+);dur=(\d+\.\d{3})", p.strip()) for p in header.split(",")]
    assert all(parts), header
    return {m.group(1): float(m.group(2)) for m in parts}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/models/iris:predict", {"instances": [IRIS_ROW]}),
    ("/api/v1/models/iris:classify", {"examples": [{"inputs": IRIS_ROW}]}),
    ("/api/v2/models/iris/infer", V2_BODY),
])
def test_a_prediction_answer_carries_its_four_phases(client, user_headers, path, body):
    r = client.post(path, json=body, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    timing = phases(r)
    assert list(timing) == PHASES
    assert timing["compute"] > 0
    assert sum(timing.values()) < 5000


def test_refusals_and_reads_carry_no_timing(client, user_headers):
    refused = client.post("/api/v1/models/iris:predict", json={"instances": [[1, 2]]}, headers=user_headers)
    assert refused.status_code == 400
    assert "Server-Timing" not in refused.headers
    assert "Server-Timing" not in client.get("/api/v1/models/iris", headers=user_headers).headers


def test_the_model_page_answer_is_timed_too(app):
    client = app.test_client()
    token = csrf(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "username": USER[0], "password": USER[1]})
    form = dict(zip(IRIS_FEATURES, map(str, IRIS_ROW), strict=True))
    r = client.post("/models/iris/predict", data={"csrf_token": csrf(client.get("/models/iris").text),
                                                 **form})
    assert r.status_code == 200
    assert list(phases(r)) == PHASES


def test_a_micro_batched_request_shows_its_wait_in_queue(model_store, tmp_path, user_headers):
    app = make_app(model_store, tmp_path / "instance", BATCH_MAX_SIZE=8, BATCH_MAX_DELAY_MS=30.0)
    r = app.test_client().post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                               headers=user_headers)
    assert r.status_code == 200
    assert phases(r)["queue"] >= 20.0  # alone, it waited out the batch window


def test_statistics_hold_the_same_phases(app, user_headers):
    client = app.test_client()

    def iris_v2() -> dict:
        stats = client.get("/api/stats", headers=user_headers).get_json()
        return stats["models"]["iris"]["versions"]["2"]["timing"]

    before = iris_v2()
    answers = [client.post("/api/v2/models/iris/infer", json=V2_BODY, headers=user_headers)
               for _ in range(3)]
    after = iris_v2()
    for phase in PHASES:
        assert after[phase]["count"] == before[phase]["count"] + 3, phase
        added = after[phase]["total_ms"] - before[phase]["total_ms"]
        shown = sum(phases(a)[phase] for a in answers)
        assert added == pytest.approx(shown, abs=0.01), phase  # the header rounds to microseconds
    assert after["compute"]["mean_ms"] > 0
    triton = client.get("/api/v2/models/iris/versions/2/stats", headers=user_headers).get_json()
    inference = triton["model_stats"][0]["inference_stats"]
    assert inference["compute_infer"]["count"] == after["compute"]["count"]
    assert inference["compute_output"]["count"] == after["encode"]["count"]
    assert inference["compute_input"]["ns"] == int(after["decode"]["total_ms"] * 1_000_000)

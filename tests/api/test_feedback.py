"""Ground truth through both API families: one or many, idempotent, and every mistake a clear 4xx in
each protocol's error format (`/api/v1/models/<m>:feedback`, `/api/v2/models/<m>/feedback`)."""

from __future__ import annotations

import pytest

from tests.support.helpers import IRIS_ROW, assert_clean_error, assert_still_serving, heldout
from tests.support.monitoring import watch_of

PATHS = {"v1": "/api/v1/models/{}:feedback", "v2": "/api/v2/models/{}/feedback"}


@pytest.fixture(params=["v1", "v2"])
def send(request, logged_app, user_headers):
    """POST a feedback body through one protocol; the response."""
    client = logged_app.test_client()

    def post(model: str, body=None, data: bytes | None = None, headers=None):
        path = PATHS[request.param].format(model)
        if data is not None:
            return client.post(path, data=data, headers={**user_headers, **(headers or {})})
        return client.post(path, json=body, headers={**user_headers, **(headers or {})})

    return post


def predicted(app, headers, model: str = "iris", rows: list | None = None) -> str:
    """A logged prediction's Podium request id (the writer has stored it)."""
    response = app.test_client().post(f"/api/v1/models/{model}:predict",
                                      json={"instances": rows or [IRIS_ROW]}, headers=headers)
    assert response.status_code == 200
    assert watch_of(app).log.flush()
    return response.headers["X-Podium-Request-ID"]


def test_one_truth_then_the_same_again_is_idempotent(send, logged_app, user_headers):
    rid = predicted(logged_app, user_headers)
    first = send("iris", {"request_id": rid, "truth": "setosa"})
    assert (first.status_code, first.get_json()) == (200, {"recorded": 1, "unchanged": 0})
    again = send("iris", {"request_id": rid, "truth": "setosa"})
    assert again.get_json() == {"recorded": 0, "unchanged": 1}


def test_many_truths_at_once_including_a_multi_row_request(send, logged_app, user_headers):
    one, two = predicted(logged_app, user_headers), predicted(logged_app, user_headers)
    pair = predicted(logged_app, user_headers, rows=[IRIS_ROW, [6.7, 3.0, 5.2, 2.3]])
    body = {"truths": [{"request_id": one, "truth": "setosa"}, {"request_id": two, "truth": "versicolor"},
                       {"request_id": pair, "truth": ["setosa", "virginica"]}]}
    response = send("iris", body)
    assert (response.status_code, response.get_json()) == (200, {"recorded": 4, "unchanged": 0})


def test_a_regressor_takes_numbers(send, logged_app, user_headers, demo_store):
    row = heldout(demo_store, "diabetes")["x"][0]
    rid = predicted(logged_app, user_headers, "diabetes", [row])
    assert send("diabetes", {"request_id": rid, "truth": 151.0}).get_json() == {"recorded": 1, "unchanged": 0}
    assert_clean_error(send("diabetes", {"request_id": rid, "truth": "tall"}), 400, "finite number")


def test_a_different_second_truth_is_a_conflict(send, logged_app, user_headers):
    rid = predicted(logged_app, user_headers)
    send("iris", {"request_id": rid, "truth": "setosa"})
    assert_clean_error(send("iris", {"request_id": rid, "truth": "virginica"}), 409, "different truth")
    both = {"truths": [{"request_id": predicted(logged_app, user_headers), "truth": t}
                       for t in ("setosa", "versicolor")]}
    both["truths"][1]["request_id"] = both["truths"][0]["request_id"]
    assert_clean_error(send("iris", both), 409, "two different truths")


def test_an_id_never_logged_failed_or_of_another_model_is_not_found(send, logged_app, user_headers):
    assert_clean_error(send("iris", {"request_id": "never-seen", "truth": "setosa"}), 404, "never-seen")
    client = logged_app.test_client()
    failed = client.post("/api/v1/models/iris:predict", json={"instances": [[1.0]]}, headers=user_headers)
    watch_of(logged_app).log.flush()
    assert_clean_error(send("iris", {"request_id": failed.headers["X-Podium-Request-ID"], "truth": "setosa"}),
                       404, "failed")
    rid = predicted(logged_app, user_headers)
    assert_clean_error(send("wine", {"request_id": rid, "truth": "class_0"}), 404)


def test_an_id_sampled_out_is_not_found(model_store, tmp_path, user_headers):
    from tests.conftest import make_app

    app = make_app(model_store, tmp_path / "instance", LOG_SAMPLE_RATE=0.0)
    watch_of(app).log.start()
    rid = predicted(app, user_headers)
    response = app.test_client().post(PATHS["v2"].format("iris"), json={"request_id": rid, "truth": "setosa"},
                                      headers=user_headers)
    assert_clean_error(response, 404, "sampled out")
    watch_of(app).close()


@pytest.mark.parametrize(("body", "words"), [
    ({"request_id": "x", "truth": "tulip"}, ["tulip", "not a label"]),
    ({"request_id": "x", "truth": True}, ["not a valid truth"]),
    ({"request_id": "x", "truth": None}, ["not a valid truth"]),
    ({"request_id": "x", "truth": 7}, ["not a label"]),
    ({"request_id": "x", "truth": ["setosa", "setosa"]}, ["predicted 1 rows"]),
])
def test_a_truth_of_the_wrong_type_or_label_names_the_problem(send, logged_app, user_headers, body, words):
    body = {**body, "request_id": predicted(logged_app, user_headers)}
    assert_clean_error(send("iris", body), 400, *words)


@pytest.mark.parametrize(("body", "words"), [
    ([], ["JSON object"]),
    ("setosa", ["JSON object"]),
    ({}, ["lacks 'request_id'"]),
    ({"request_id": "x"}, ["lacks 'truth'"]),
    ({"request_id": "x", "truth": "setosa", "extra": 1}, ["unknown key 'extra'"]),
    ({"truths": []}, ["non-empty list"]),
    ({"truths": "x"}, ["non-empty list"]),
    ({"truths": [1]}, ["truths[0]"]),
    ({"truths": [{"request_id": "x"}]}, ["truths[0] lacks 'truth'"]),
    ({"truths": [], "request_id": "x"}, ["not both"]),
    ({"request_id": 5, "truth": "setosa"}, ["request id must be a string"]),
    ({"request_id": "", "truth": "setosa"}, ["1-128 characters"]),
    ({"request_id": "x" * 129, "truth": "setosa"}, ["1-128 characters"]),
])
def test_every_malformed_body_is_a_400_naming_the_fault(send, body, words, logged_app, user_headers):
    assert_clean_error(send("iris", body), 400, *words)
    assert_still_serving(logged_app.test_client(), user_headers)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b'{"a": 1, "a": 2}', b"[" * 100_000])
def test_bodies_that_are_not_json_are_a_400(send, raw):
    assert_clean_error(send("iris", data=raw, headers={"Content-Type": "application/json"}), 400)


def test_too_many_truths_are_refused_as_too_large(send):
    body = {"truths": [{"request_id": f"r{i}", "truth": "setosa"} for i in range(10_001)]}
    assert_clean_error(send("iris", body), 413, "10000")


def test_feedback_needs_credentials(logged_app):
    for path in PATHS.values():
        response = logged_app.test_client().post(path.format("iris"), json={"request_id": "x", "truth": "a"})
        assert_clean_error(response, 401)

"""A clicked item is a recommender's ground truth: sent through both APIs' feedback (idempotent), it
makes the monitor's live hit rate@k per version, shown beside the held-out hit rate on the
recommender page and /ops; drift is skipped cleanly for recommenders and chats."""

from __future__ import annotations

import pytest

from tests.api.kinds.test_recommender_api import AUTH, v1
from tests.conftest import ADMIN, USER, basic
from tests.support.monitoring import watch_of
from tests.support.pages import csrf

FEEDBACK_V1, FEEDBACK_V2 = "/api/v1/models/movies:feedback", "/api/v2/models/movies/feedback"


@pytest.fixture(scope="module")
def app(logging_kinds_app):
    return logging_kinds_app


def login(client, name, password):
    token = csrf(client.get("/login").text)
    answer = client.post("/login", data={"csrf_token": token, "username": name, "password": password})
    assert answer.status_code == 302


def _ask(client, k=10, **row):
    answer = v1(client, {"instances": [{**row, "k": k}]})
    assert answer.status_code == 200
    return answer.headers["X-Podium-Request-ID"], answer.get_json()["predictions"][0]["items"]


def _send(client, path, rid, truth):
    return client.post(path, json={"request_id": rid, "truth": truth}, headers=AUTH)


def test_a_clicked_item_is_a_truth_through_both_apis_and_is_idempotent(app):
    client = app.test_client()
    rid, items = _ask(client, user="u0042")
    watch_of(app).log.flush()
    assert _send(client, FEEDBACK_V1, rid, items[2]).get_json() == {"recorded": 1, "unchanged": 0}
    assert _send(client, FEEDBACK_V2, rid, items[2]).get_json() == {"recorded": 0, "unchanged": 1}
    assert _send(client, FEEDBACK_V2, rid, [items[2]]).get_json() == {"recorded": 0, "unchanged": 1}
    other = _send(client, FEEDBACK_V1, rid, items[3])
    assert other.status_code == 409
    assert "different truth" in other.get_json()["error"]
    rid2, items2 = _ask(client, user="u0043")
    watch_of(app).log.flush()
    basket = _send(client, FEEDBACK_V2, rid2, [items2[0], "i499"])  # a list: everything chosen
    assert basket.get_json() == {"recorded": 1, "unchanged": 0}
    assert _send(client, FEEDBACK_V2, rid2, ["i499", items2[0]]).get_json()["unchanged"] == 1


@pytest.mark.parametrize(("truth", "status", "words"), [
    (3, 400, "item id chosen or a list"), ([], 400, "item id chosen or a list"),
    ([f"i{n:04d}" for n in range(40)], 400, "at most 128"),
])
def test_bad_truths_are_a_400(app, truth, status, words):
    client = app.test_client()
    rid, _ = _ask(client, user="u0044")
    watch_of(app).log.flush()
    answer = _send(client, FEEDBACK_V1, rid, truth)
    assert answer.status_code == status
    assert words in answer.get_json()["error"]


def test_a_chat_answer_takes_no_truth(app):
    client = app.test_client()
    chat = client.post("/openai/v1/chat/completions", headers=AUTH, json={
        "model": "helpdesk", "messages": [{"role": "user", "content": "hello"}]})
    watch_of(app).log.flush()
    answer = _send(client, "/api/v2/models/helpdesk/feedback", chat.headers["X-Podium-Request-ID"], "yes")
    assert answer.status_code == 400
    assert "take no truth" in answer.get_json()["error"]


def test_the_monitor_computes_the_live_hit_rate_and_skips_drift(app):
    client = app.test_client()
    for n, user in enumerate(["u0100", "u0101", "u0102", "u0103"]):
        rid, items = _ask(client, user=user)
        watch_of(app).log.flush()
        truth = items[0] if n < 3 else "i-not-shown"  # three hits, one miss
        assert _send(client, FEEDBACK_V1, rid, truth).status_code == 200
    _ask(client, k=3, user="u0104")  # another k, unlabelled
    summary = watch_of(app).job.run_once("movies")["movies"]
    v3 = summary["versions"]["3"]
    assert v3["quality"]["labelled"] >= 4
    assert 0 < v3["quality"]["hit_rate@10"] < 1
    assert v3["heldout"]["hit_rate@10"] == pytest.approx(0.666, abs=0.01)
    assert v3["drift"] == {"verdict": False, "reason": "drift does not apply to recommendation models"}
    assert v3["prediction_drift"]["verdict"] is False
    chat = watch_of(app).job.run_once("helpdesk")["helpdesk"]
    assert watch_of(app).job.errors == {}
    assert chat["versions"]["1"]["drift"]["reason"] == "drift does not apply to chat models"


def test_the_page_shows_the_hit_rate_and_a_click_records_the_choice(app):
    client = app.test_client()
    login(client, *ADMIN)
    page = client.get("/recommend/movies?user=u0200")
    assert page.status_code == 200
    assert 'id="monitoring"' in page.text
    assert "Not measured: drift does not apply to recommendation models" in page.text
    rid = page.text.split("data-request-id>")[1].split("<")[0]
    item = page.text.split('data-chose="')[1].split('"')[0]
    watch_of(app).log.flush()
    chose = client.post("/recommend/movies/chose", data={
        "csrf_token": csrf(page.text), "request_id": rid, "item": item, "user": "u0200"})
    assert chose.status_code == 303
    assert "/recommend/movies?user=u0200" in chose.headers["Location"]
    followed = client.get(chose.headers["Location"])
    assert f"Recorded your choice of {item}" in followed.text
    watch_of(app).job.run_once("movies")
    shown = client.get("/recommend/movies?version=3").text
    assert 'data-live="hit_rate@10"' in shown
    ops = client.get("/ops").text
    assert "v3 hit_rate@10" in ops


def test_choosing_needs_a_login_and_a_logged_request(app):
    client = app.test_client()
    page = client.get("/recommend/movies?user=u0201")
    assert "data-chose" not in page.text  # anonymous: no buttons
    post = client.post("/recommend/movies/chose", data={"csrf_token": csrf(page.text),
                                                       "request_id": "nope", "item": "i001"})
    assert post.status_code == 302
    assert "/login" in post.headers["Location"]
    login(client, *USER)
    page = client.get("/recommend/movies?user=u0201")
    post = client.post("/recommend/movies/chose", data={"csrf_token": csrf(page.text),
                                                       "request_id": "nope", "item": "i001"})
    assert "no logged prediction" in client.get(post.headers["Location"]).text


def test_feedback_needs_credentials(app):
    answer = app.test_client().post(FEEDBACK_V1, json={"request_id": "x", "truth": "i001"})
    assert answer.status_code == 401
    assert basic(USER)  # the same users as every other API

"""The prediction log holds the recommender's and the chat's calls as rows of their own: the request,
the ranked items or the conversation's text, tokens and time to first token, under the manifest's
privacy rules."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.api.kinds.test_recommender_api import AUTH, v1
from tests.conftest import make_app
from tests.support.monitoring import logged_rows, watch_of

CHAT = "/openai/v1/chat/completions"
QUESTION = "Which API do OpenAI clients call on the helpdesk chat?"


@pytest.fixture(scope="module")
def logged(logging_kinds_app):
    return logging_kinds_app


def _rid(response) -> str:
    return response.headers["X-Podium-Request-ID"]


def test_recommendations_are_logged_row_by_row_with_items_and_scores(logged):
    client = logged.test_client()
    answer = v1(client, {"instances": [{"user": "u0042", "k": 3}, {"items": ["i001"], "k": 2}]})
    assert answer.status_code == 200
    first, second = logged_rows(logged, request_id=_rid(answer))
    got = answer.get_json()["predictions"]
    assert (first.source, first.status, first.version, first.row_index) == ("v1", 200, 3, 0)
    assert first.inputs["user"] == "u0042"
    assert first.inputs["k"] == 3
    assert first.inputs["returned"] == got[0]["items"]
    assert first.label == got[0]["items"][0]
    assert first.inputs["scores"] == pytest.approx(got[0]["scores"], abs=1e-5)
    assert (second.inputs["items"], second.inputs["basis"], second.inputs["k"]) == (["i001"], "items", 2)


def test_similar_items_v2_and_failures_are_logged(logged):
    client = logged.test_client()
    similar = v1(client, {"signature_name": "similar_items", "instances": [{"item": "i010", "k": 2}]})
    (row,) = logged_rows(logged, request_id=_rid(similar))
    assert (row.inputs["item"], len(row.inputs["returned"]), row.inputs["basis"]) == ("i010", 2, "item")
    body = {"parameters": {"k": 4}, "inputs": [{"name": "user", "datatype": "BYTES", "shape": [1],
                                                "data": ["newcomer"]}]}
    v2 = client.post("/api/v2/models/movies/infer", json=body, headers=AUTH)
    (row,) = logged_rows(logged, request_id=_rid(v2))
    assert (row.source, row.inputs["basis"], len(row.inputs["returned"])) == ("v2", "popular", 4)
    bad = v1(client, {"instances": [{"user": "u0042", "k": 0}]})
    assert bad.status_code == 400
    (row,) = logged_rows(logged, request_id=_rid(bad))
    assert (row.status, row.inputs) == (400, None)


def test_a_whole_chat_answer_is_logged_with_its_text_and_tokens(logged):
    client = logged.test_client()
    body = {"model": "helpdesk", "max_tokens": 30,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]}
    answer = client.post(CHAT, json=body, headers=AUTH)
    assert answer.status_code == 200
    (row,) = logged_rows(logged, request_id=_rid(answer))
    usage = answer.get_json()["usage"]
    assert (row.source, row.inputs["prompt"], row.inputs["system"]) == ("openai", QUESTION, "Be brief.")
    assert row.inputs["answer"] == answer.get_json()["choices"][0]["message"]["content"]
    assert (row.inputs["prompt_tokens"], row.inputs["completion_tokens"]) == (
        usage["prompt_tokens"], usage["completion_tokens"])
    assert row.inputs["stream"] is False
    assert row.inputs["first_token_s"] is None
    assert row.inputs["sources"][0].startswith("docs/kinds.md")


def test_a_streamed_answer_is_logged_when_it_ends_with_its_time_to_first_token(logged):
    client = logged.test_client()
    body = {"model": "helpdesk", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": QUESTION}]}
    answer = client.post(CHAT, json=body, headers=AUTH)
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in answer.text.splitlines()
                   if line.startswith("data: {") and json.loads(line[6:])["choices"])
    (row,) = logged_rows(logged, request_id=_rid(answer))
    assert row.inputs["stream"] is True
    assert row.inputs["answer"] == text
    assert row.inputs["finish_reason"] in ("stop", "length")
    assert 0 < row.inputs["first_token_s"] <= row.latency_s
    assert row.inputs["completion_tokens"] > 0


def test_a_dropped_stream_is_logged_as_incomplete(logged):
    client = logged.test_client()
    body = {"model": "helpdesk", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    answer = client.post(CHAT, json=body, headers=AUTH, buffered=False)
    next(answer.response)  # the first event, then the caller goes away
    answer.close()
    (row,) = logged_rows(logged, request_id=_rid(answer))
    assert row.inputs["finish_reason"] == "incomplete"


def _private_copy(kinds_store, tmp_path, model, monitoring):
    store = tmp_path / "store"
    shutil.copytree(kinds_store / model, store / model)
    for manifest in (store / model).glob("*/model.json"):
        data = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**data, "monitoring": monitoring}))
    return store


def test_sensitive_chat_text_is_hashed_and_user_ids_encrypted(kinds_store, tmp_path):
    from cryptography.fernet import Fernet

    store = _private_copy(kinds_store, tmp_path, "helpdesk", {"sensitive": ["prompt", "answer"]})
    shutil.copytree(_private_copy(kinds_store, tmp_path / "m", "movies",
                                  {"sensitive": ["user"], "sensitive_mode": "encrypt"}) / "movies",
                    store / "movies")
    key = Fernet.generate_key().decode()
    app = make_app(store, tmp_path / "instance", LOG_ENCRYPTION_KEY=key)
    watch_of(app).log.start()
    try:
        client = app.test_client()
        body = {"model": "helpdesk", "messages": [{"role": "user", "content": QUESTION}]}
        chat = client.post(CHAT, json=body, headers=AUTH)
        (row,) = logged_rows(app, request_id=_rid(chat))
        assert row.inputs["prompt"].startswith("hmac:")
        assert row.inputs["answer"].startswith("hmac:")
        assert QUESTION not in json.dumps(row.inputs)
        assert row.inputs["completion_tokens"] > 0
        again = client.post(CHAT, json=body, headers=AUTH)
        (same,) = logged_rows(app, request_id=_rid(again))
        assert same.inputs["prompt"] == row.inputs["prompt"]  # a keyed hash: repeats still join
        films = v1(client, {"instances": [{"user": "u0042", "k": 2}]})
        (row,) = logged_rows(app, request_id=_rid(films))
        assert row.inputs["user"].startswith("fernet:")
        assert row.inputs["returned"][0].startswith("i")
        assert Fernet(key).decrypt(row.inputs["user"][7:].encode()) == b'"u0042"'
    finally:
        watch_of(app).close()


def test_a_manifest_naming_an_unknown_field_is_refused(kinds_store, tmp_path):
    from webapp.serving.errors import InvalidInput
    from webapp.serving.models.spec import load_manifest
    from webapp.serving.monitoring.settings import monitoring_spec

    store = _private_copy(kinds_store, tmp_path, "helpdesk", {"sensitive": ["age"]})
    spec = load_manifest(store / "helpdesk" / "1", "helpdesk", 1)
    with pytest.raises(InvalidInput, match="unknown feature 'age'"):
        monitoring_spec(spec)

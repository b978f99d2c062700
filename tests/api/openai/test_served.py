"""The official `openai` client against a real gunicorn Podium serving the helpdesk demo at `/openai/v1`:
credentials as the other APIs take them, whole and streamed answers, and OpenAI's error format for
everything a client can get wrong."""

from __future__ import annotations

import openai
import pytest
import requests

from tests.conftest import USER, basic
from tests.support.server import gunicorn
from webapp.demos import train_demos

QUESTION = [{"role": "system", "content": "You are Podium's helpdesk."},
            {"role": "user", "content": "How do I roll back to the previous version?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    train_demos(root / "store", {"helpdesk", "movies"})
    with gunicorn(root / "store", root / "instance", {"user": USER}, workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/openai/v1", api_key=f"{USER[0]}:{USER[1]}",
                         max_retries=0, timeout=30)


def test_a_completion_links_its_source_and_counts_tokens(client):
    reply = client.chat.completions.create(model="helpdesk", messages=QUESTION, temperature=0.2)
    message = reply.choices[0].message
    assert reply.object == "chat.completion"
    assert reply.model == "helpdesk"
    assert message.annotations[0].url_citation.url.startswith("docs/lifecycle.md#")
    assert message.annotations[0].url_citation.url in message.content
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 10


def test_a_stream_arrives_in_pieces_and_matches_the_whole_answer(client):
    whole = client.chat.completions.create(model="helpdesk", messages=QUESTION, max_tokens=30)
    stream = client.chat.completions.create(model="helpdesk", messages=QUESTION, max_tokens=30, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 5
    assert "".join(pieces) == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 30


def test_the_stream_is_server_sent_events_ending_with_done(server):
    body = {"model": "helpdesk", "messages": QUESTION, "stream": True}
    with requests.post(server.url + "/openai/v1/chat/completions", json=body, headers=basic(USER),
                       stream=True, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == b"data: [DONE]"
    assert all(line.startswith(b"data: ") for line in lines)


def test_models_lists_only_chat_models(client):
    assert [m.id for m in client.models.list()] == ["helpdesk"]
    assert client.models.retrieve("helpdesk").owned_by == "podium"


@pytest.mark.parametrize(("messages", "param", "code"), [
    ([], "messages", "empty_array"),
    ([{"role": "robot", "content": "beep"}], "messages[0].role", "invalid_value"),
    ([{"role": "system", "content": "only a system prompt"}], "messages", "invalid_value"),
    ([{"role": "user", "content": "x" * 500_001}], "messages", "string_above_max_length"),
    ([{"role": "user", "content": "hi"}] * 1001, "messages", "array_above_max_length"),
])
def test_bad_conversations_raise_bad_request(client, messages, param, code):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="helpdesk", messages=messages)
    assert (caught.value.status_code, caught.value.param, caught.value.code) == (400, param, code)


def test_an_unknown_model_and_a_recommender_are_not_chat_models(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="ghost", messages=QUESTION)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="movies", messages=QUESTION)
    assert caught.value.param == "model"


def test_wrong_credentials_raise_authentication_error(server):
    wrong = openai.OpenAI(base_url=server.url + "/openai/v1", api_key="bob:wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.models.list()
    assert caught.value.code == "invalid_api_key"
    assert requests.get(server.url + "/openai/v1/models", timeout=5).status_code == 401


def test_basic_auth_and_broken_bodies_answer_in_openais_format(server):
    url = server.url + "/openai/v1/chat/completions"
    response = requests.post(url, data=b"{not json", headers=basic(USER), timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    response = requests.post(url, data=b"x" * (33 * 1024 * 1024), headers=basic(USER), timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "Request body too large"


def test_other_openai_routes_answer_openais_404(server):
    for method, path in (("POST", "/openai/v1/embeddings"), ("GET", "/openai/v1/chat/completions")):
        response = requests.request(method, server.url + path, headers=basic(USER), json={}, timeout=5)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_url"

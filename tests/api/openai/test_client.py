"""The official `openai` client against a loopback server that speaks through the codec: what a client
written for OpenAI sees when pointed at Podium's `/openai/v1`."""

from __future__ import annotations

import json

import openai
import pytest

from tests.support.openai_server import openai_server
from webapp.demos.chat import helpdesk_v1
from webapp.serving.chat import load_chat

QUESTION = [{"role": "system", "content": "You are Podium's helpdesk."},
            {"role": "user", "content": "How do I roll back to the previous version?"}]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("helpdesk")
    helpdesk_v1(folder)
    backend = load_chat(folder, json.loads((folder / "model.json").read_text()))
    with openai_server({"helpdesk": backend}) as (url, _):
        yield openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=30)


def test_a_completion_answers_with_the_source_and_usage(client):
    reply = client.chat.completions.create(model="helpdesk", messages=QUESTION, temperature=0)
    message = reply.choices[0].message
    assert reply.object == "chat.completion"
    assert "docs/lifecycle.md#roll-back-in-one-call" in message.content
    assert message.annotations[0].url_citation.url == "docs/lifecycle.md#roll-back-in-one-call"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.usage.completion_tokens > 10


def test_a_stream_gives_the_same_text_then_usage(client):
    whole = client.chat.completions.create(model="helpdesk", messages=QUESTION, max_tokens=25)
    stream = client.chat.completions.create(model="helpdesk", messages=QUESTION, max_tokens=25, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens == 25


def test_a_bad_request_raises_the_clients_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="helpdesk", messages=[{"role": "robot", "content": "beep"}])
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_value"
    assert caught.value.param == "messages[0].role"


def test_an_unknown_model_raises_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="ghost", messages=QUESTION)
    assert caught.value.code == "model_not_found"


def test_models_are_listed(client):
    assert [m.id for m in client.models.list()] == ["helpdesk"]

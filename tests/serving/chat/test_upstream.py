"""The upstream backend against a real OpenAI-compatible server on loopback: answers, streams, failures."""

from __future__ import annotations

import pytest

from tests.support.openai_server import openai_server
from webapp.api.openai import codec
from webapp.serving.chat import UpstreamFailed, UpstreamTimeout
from webapp.serving.chat.retrieval import Retriever
from webapp.serving.chat.upstream import UpstreamBackend
from webapp.serving.chat.upstream_settings import UpstreamSettings
from webapp.serving.errors import InvalidInput

from .conftest import ask

QUESTION = "How do I roll back to the previous version?"


@pytest.fixture(scope="module")
def upstream(helpdesk):
    with openai_server({"helpdesk": helpdesk}) as served:
        yield served


def backend(url: str, model: str = "helpdesk", retriever: Retriever | None = None,
            **settings) -> UpstreamBackend:
    return UpstreamBackend(UpstreamSettings.from_manifest(
        {"base_url": url, "model": model, "api_key_env": "PODIUM_UPSTREAM_KEY_TEST", **settings}), retriever)


def test_an_answer_is_the_upstreams_with_its_usage(upstream, helpdesk, monkeypatch):
    url, record = upstream
    monkeypatch.setenv("PODIUM_UPSTREAM_KEY_TEST", "sk-test-123")
    answer = backend(url).answer(ask(QUESTION, max_tokens=20, stop=("zzz",)))
    expected = helpdesk.answer(ask(QUESTION, max_tokens=20, stop=("zzz",)))
    assert (answer.text, answer.finish_reason, answer.usage) == (expected.text, "length", expected.usage)
    headers, body = record.requests[-1]
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert body["model"] == "helpdesk"
    assert (body["max_tokens"], body["stop"], body["stream"]) == (20, ["zzz"], False)


def test_without_the_key_variable_no_authorization_is_sent(upstream, monkeypatch):
    url, record = upstream
    monkeypatch.delenv("PODIUM_UPSTREAM_KEY_TEST", raising=False)
    backend(url).answer(ask(QUESTION))
    assert "Authorization" not in record.requests[-1][0]


def test_a_stream_is_the_same_answer_in_pieces(upstream, helpdesk):
    url, _ = upstream
    expected = helpdesk.answer(ask(QUESTION, max_tokens=40))
    chunks = list(backend(url).stream(ask(QUESTION, max_tokens=40)))
    assert "".join(c.text for c in chunks) == expected.text
    assert (chunks[-1].finish_reason, chunks[-1].usage) == ("length", expected.usage)


def test_retrieved_passages_ground_the_prompt_and_become_sources(upstream, helpdesk):
    url, record = upstream
    grounded = backend(url, retriever=helpdesk.retriever)
    answer = grounded.answer(ask(QUESTION))
    sent = record.requests[-1][1]["messages"]
    assert sent[0]["role"] == "system"
    assert sent[0]["content"].startswith("Answer from these passages")
    assert "docs/lifecycle.md#roll-back-in-one-call" in sent[0]["content"]
    assert answer.sources[0].source == "docs/lifecycle.md#roll-back-in-one-call"


@pytest.mark.parametrize(("model", "error", "message"), [
    ("garbage", UpstreamFailed, "not JSON"),
    ("not-a-completion", UpstreamFailed, "not a chat completion"),
    ("fail", UpstreamFailed, "HTTP 500: The model fell over"),
    ("nope", UpstreamFailed, "HTTP 404: The model 'nope' does not exist"),
    ("slow", UpstreamTimeout, "did not answer within 0.5s"),
])
def test_a_failing_upstream_is_a_clear_502_or_504(upstream, model, error, message):
    url, _ = upstream
    with pytest.raises(error, match=message) as caught:
        backend(url, model, read_timeout=0.5).answer(ask(QUESTION))
    assert caught.value.status == (504 if error is UpstreamTimeout else 502)


@pytest.mark.parametrize(("model", "error", "message"), [
    ("cut-stream", UpstreamFailed, "ended before it said why"),
    ("error-stream", UpstreamFailed, "failed mid-stream: GPU on fire"),
    ("silent-stream", UpstreamTimeout, "stopped sending"),
    ("drip", UpstreamTimeout, "did not finish its answer within 0.5s"),
])
def test_a_stream_that_goes_wrong_ends_in_a_clear_error(upstream, model, error, message):
    url, _ = upstream
    stream = backend(url, model, read_timeout=0.5, total_timeout=0.5).stream(ask(QUESTION))
    with pytest.raises(error, match=message):
        list(stream)


def test_an_unreachable_upstream_is_a_502(upstream):
    with openai_server({}) as (url, _):
        pass  # the port is free again: nothing listens there
    with pytest.raises(UpstreamFailed, match="Cannot reach the upstream"):
        backend(url, connect_timeout=0.5).answer(ask(QUESTION))


def test_a_stream_dropped_halfway_closes_the_upstream_connection(upstream):
    url, record = upstream
    record.dropped.clear()
    stream = backend(url, "drip").stream(ask(QUESTION))
    assert [next(stream).text for _ in range(3)] == ["word0 ", "word1 ", "word2 "]
    stream.close()
    assert record.dropped.wait(timeout=10), "the upstream kept sending to a closed stream"


def test_closing_the_encoded_sse_stream_closes_the_upstream_too(upstream):
    url, record = upstream
    record.dropped.clear()
    events = codec.encode_stream(backend(url, "drip").stream(ask(QUESTION)), "m", "chatcmpl-1", 1)
    for _ in range(3):
        next(events)
    events.close()
    assert record.dropped.wait(timeout=10)


def test_the_key_never_appears_in_an_error(upstream, monkeypatch):
    url, _ = upstream
    monkeypatch.setenv("PODIUM_UPSTREAM_KEY_TEST", "sk-secret-value")
    with pytest.raises(UpstreamFailed) as caught:
        backend(url, "fail").answer(ask(QUESTION))
    assert "sk-secret-value" not in caught.value.message


@pytest.mark.parametrize(("section", "message"), [
    ({"base_url": "ftp://x/v1", "model": "m"}, "must be an http"),
    ({"base_url": "http://user:pw@x/v1", "model": "m"}, "may not hold credentials"),
    ({"base_url": "http://x/v1", "model": ""}, "model must name"),
    ({"base_url": "http://x/v1", "model": "m", "api_key_env": "PODIUM_SECRET_KEY"}, "api_key_env must be"),
    ({"base_url": "http://x/v1", "model": "m", "api_key_env": "HOME"}, "api_key_env must be"),
    ({"base_url": "http://x/v1", "model": "m", "read_timeout": 0}, "read_timeout must be"),
    ({"base_url": "http://x/v1", "model": "m", "total_timeout": "long"}, "total_timeout must be"),
])
def test_a_bad_upstream_section_is_refused(section, message):
    with pytest.raises(InvalidInput, match=message):
        UpstreamSettings.from_manifest(section)


def test_a_stream_the_upstream_refuses_fails_before_the_first_chunk(upstream):
    """So the HTTP layer can still answer 502 with a status line, not an error event after a 200."""
    url, _ = upstream
    with pytest.raises(UpstreamFailed, match="HTTP 500: The model fell over"):
        backend(url, "fail").stream(ask(QUESTION))


def test_a_stream_closed_before_it_was_read_closes_the_upstream(upstream):
    url, record = upstream
    record.dropped.clear()
    backend(url, "drip").stream(ask(QUESTION)).close()
    assert record.dropped.wait(timeout=10)

"""The chat-completions codec: bodies OpenAI would refuse are refused the same way; what it writes
parses with the official client's own types."""

from __future__ import annotations

import json

import pytest
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params

from webapp.api.openai import codec
from webapp.api.openai.request import KNOWN, MAX_MESSAGES
from webapp.serving.chat import ChatAnswer, Chunk, Source, UpstreamFailed, UpstreamTimeout, Usage
from webapp.serving.errors import ModelNotFound, Overloaded

USER = {"role": "user", "content": "Hello"}


def body(**fields) -> bytes:
    return json.dumps({"model": "helpdesk", "messages": [USER], **fields}).encode()


def test_a_full_body_becomes_a_call():
    call = codec.parse_chat_body(body(
        messages=[{"role": "developer", "content": "Be brief."}, USER,
                  {"role": "assistant", "content": None},
                  {"role": "user", "content": [{"type": "text", "text": "a"},
                                               {"type": "text", "text": "b"}]}],
        temperature=0.2, max_completion_tokens=50, stop="END", stream=True,
        stream_options={"include_usage": True}, top_p=0.9, seed=4, user="u1", n=1))
    assert call.model == "helpdesk"
    assert call.stream
    assert call.include_usage
    r = call.request
    assert [(m.role, m.content) for m in r.messages] == [
        ("system", "Be brief."), ("user", "Hello"), ("assistant", ""), ("user", "a\nb")]
    assert (r.temperature, r.max_tokens, r.stop) == (0.2, 50, ("END",))


def test_defaults_match_openais():
    r = codec.parse_chat_body(body()).request
    assert (r.temperature, r.max_tokens, r.stop) == (1.0, None, ())


@pytest.mark.parametrize(("raw", "param", "code"), [
    (b"{not json", None, "invalid_json"),
    (b"[1, 2]", None, "invalid_type"),
    (json.dumps({"messages": [USER]}).encode(), "model", "missing_required_parameter"),
    (body(model=7), "model", "invalid_type"),
    (body(messages=[]), "messages", "empty_array"),
    (body(messages="hi"), "messages", "invalid_type"),
    (body(messages=[USER] * (MAX_MESSAGES + 1)), "messages", "array_above_max_length"),
    (body(messages=[{"role": "user", "content": "x" * 500_001}]), "messages", "string_above_max_length"),
    (body(messages=[USER, {"role": "robot", "content": "beep"}]), "messages[1].role", "invalid_value"),
    (body(messages=[USER, {"role": "tool", "content": "42"}]), "messages[1].role", "unsupported_value"),
    (body(messages=[{"content": "hi"}]), "messages[0].role", "missing_required_parameter"),
    (body(messages=[{"role": "user"}]), "messages[0].content", "missing_required_parameter"),
    (body(messages=[{"role": "user", "content": 5}]), "messages[0].content", "invalid_type"),
    (body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
     "messages[0].content[0]", "unsupported_value"),
    (body(messages=["hi"]), "messages[0]", "invalid_type"),
    (body(messages=[{"role": "system", "content": "only rules"}]), "messages", "invalid_value"),
    (body(temperature=2.5), "temperature", "decimal_above_max_value"),
    (body(temperature=-1), "temperature", "decimal_below_min_value"),
    (body(temperature="hot"), "temperature", "invalid_type"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
     "temperature", "invalid_type"),
    (body(max_tokens=0), "max_tokens", "integer_below_min_value"),
    (body(max_tokens=1.5), "max_tokens", "invalid_type"),
    (body(max_tokens=True), "max_tokens", "invalid_type"),
    (body(stop=["a", "b", "c", "d", "e"]), "stop", "array_above_max_length"),
    (body(stop=[1]), "stop", "invalid_type"),
    (body(stream="yes"), "stream", "invalid_type"),
    (body(stream_options={"include_usage": True}), "stream_options", "invalid_value"),
    (body(n=2), "n", "unsupported_value"),
    (body(tools=[{"type": "function", "function": {"name": "f"}}]), "tools", "unsupported_parameter"),
    (body(logprobs=True), "logprobs", "unsupported_value"),
    (body(response_format={"type": "json_object"}), "response_format", "unsupported_value"),
    (body(temprature=0.5), "temprature", "unknown_parameter"),
])
def test_a_bad_body_is_refused_in_openais_terms(raw, param, code):
    with pytest.raises(codec.BadChatRequest) as caught:
        codec.parse_chat_body(raw)
    status, error = codec.encode_error(caught.value)
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["param"], error["error"]["code"]) == (param, code)
    assert len(error["error"]["message"]) < 300


def test_every_parameter_the_official_client_can_send_is_known():
    """Each is used, accepted without effect or refused by name: never 'unrecognized'."""
    assert set(completion_create_params.CompletionCreateParamsBase.__annotations__) <= KNOWN


ANSWER = ChatAnswer("Use the rollback call.\n\nSource: Roll back (docs/lifecycle.md#roll-back)", "stop",
                    Usage(7, 12), (Source("Roll back", "docs/lifecycle.md#roll-back", 0.4),))


def test_a_completion_parses_as_the_clients_chat_completion():
    encoded = codec.encode_completion(ANSWER, "helpdesk", "chatcmpl-1", 1700000000)
    parsed = ChatCompletion.model_validate(json.loads(json.dumps(encoded)))
    assert parsed.choices[0].message.content == ANSWER.text
    assert parsed.choices[0].finish_reason == "stop"
    usage = parsed.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 12, 19)
    citation = parsed.choices[0].message.annotations[0].url_citation
    assert (citation.url, citation.title) == ("docs/lifecycle.md#roll-back", "Roll back")


def _events(stream) -> list[bytes]:
    raw = b"".join(stream)
    assert raw.endswith(b"\n\n")
    return [e.removeprefix(b"data: ") for e in raw.split(b"\n\n") if e]


@pytest.mark.parametrize("include_usage", [False, True])
def test_a_stream_is_chunks_the_client_parses_then_done(include_usage):
    chunks = [Chunk("Use"), Chunk(" the"), Chunk(" rollback."),
              Chunk(finish_reason="length", usage=Usage(3, 4), sources=ANSWER.sources)]
    events = _events(codec.encode_stream(iter(chunks), "helpdesk", "chatcmpl-2", 5, include_usage))
    assert events[-1] == b"[DONE]"
    parsed = [ChatCompletionChunk.model_validate_json(e) for e in events[:-1]]
    assert {p.id for p in parsed} == {"chatcmpl-2"}
    assert parsed[0].choices[0].delta.role == "assistant"
    assert "".join(p.choices[0].delta.content or "" for p in parsed if p.choices) == "Use the rollback."
    finishes = [p.choices[0].finish_reason for p in parsed if p.choices]
    assert finishes[-1] == "length"
    assert set(finishes[:-1]) == {None}
    usage = [p.usage for p in parsed if p.usage is not None]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == ([(3, 4)] if include_usage else [])


def test_an_error_while_streaming_is_an_error_event_and_no_done():
    def failing():
        yield Chunk("Hel")
        raise UpstreamTimeout("The upstream stopped sending in the middle of its answer")

    events = _events(codec.encode_stream(failing(), "m", "chatcmpl-3", 5))
    assert b"[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["type"] == "server_error"
    assert error["code"] == "upstream_timeout"


@pytest.mark.parametrize(("exc", "status", "error_type", "code"), [
    (ModelNotFound("ghost"), 404, "invalid_request_error", "model_not_found"),
    (UpstreamFailed("The upstream answered HTTP 500"), 502, "server_error", "upstream_error"),
    (UpstreamTimeout("The upstream did not answer within 60s"), 504, "server_error", "upstream_timeout"),
    (Overloaded("busy"), 503, "server_error", "unavailable"),
])
def test_serving_errors_render_in_openais_format(exc, status, error_type, code):
    got_status, body = codec.encode_error(exc)
    assert got_status == status
    assert body["error"]["type"] == error_type
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_models_parse_as_the_clients_model():
    listing = codec.encode_models([("helpdesk", 1700000000), ("movies", 1700000001)])
    assert listing["object"] == "list"
    assert [Model.model_validate(m).id for m in listing["data"]] == ["helpdesk", "movies"]

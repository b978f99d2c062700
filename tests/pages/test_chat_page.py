"""The chat page with the Flask test client: plain form posts (no JavaScript), CSRF on its posts,
sources that link to the document section they came from, and the stream its script reads (OpenAI's
chunk events, logged like any stream, refusals in OpenAI's error format)."""

from __future__ import annotations

import json
import re

import pytest

from tests.api.kinds.conftest import kinds_app, kinds_store, logging_kinds_app  # noqa: F401  (the fixtures)
from tests.support.monitoring import logged_rows
from tests.support.pages import accessibility_problems, csrf

QUESTION = "How do I roll back to the previous version?"


@pytest.fixture
def pages(kinds_app):  # noqa: F811
    return kinds_app.test_client()


def ask(pages, html, message, **extra):
    form = {"csrf_token": csrf(html), "conversation": _conversation(html), "message": message,
            "temperature": "0.7", "system": "", **extra}
    return pages.post("/chat/helpdesk", data=form)


def _conversation(html):
    raw = re.search(r'name="conversation" value="([^"]*)"', html).group(1)
    return raw.replace("&#34;", '"').replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&#39;", "'").replace("&amp;", "&")


def test_a_conversation_runs_on_plain_form_posts_and_links_its_source(pages):
    first = pages.get("/chat/helpdesk")
    assert accessibility_problems(first.text) == []
    answered = ask(pages, first.text, "How do I roll back to the previous version?",
                   system="You are Podium's helpdesk.")
    assert answered.status_code == 200
    links = re.findall(r'href="(/source/[^"]+)" data-source', answered.text)
    assert links
    assert links[0].startswith("/source/docs/lifecycle.md#")
    assert "Tokens:" in answered.text
    again = ask(pages, answered.text, "and how do I undo it?")
    turns = json.loads(_conversation(again.text))
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    doc, anchor = links[0].split("#")
    assert f'id="{anchor}"' in pages.get(doc).text


def test_the_chat_refuses_posts_without_the_token_and_bad_settings(pages):
    assert pages.post("/chat/helpdesk", data={"message": "hello"}).status_code == 400
    html = pages.get("/chat/helpdesk").text
    response = ask(pages, html, "hello", temperature="hot")
    assert response.status_code == 400
    assert "Temperature must be a number" in response.text
    response = ask(pages, html, "x" * 500_001)
    assert response.status_code == 400
    assert "more than 500000 characters" in response.text
    assert pages.get("/source/../../etc/passwd").status_code == 404
    assert pages.get("/source/pyproject.toml").status_code == 404


def stream(pages, html, message="", **extra):
    form = {"csrf_token": csrf(html), "conversation": _conversation(html), "message": message,
            "temperature": "0.7", "system": "", **extra}
    return pages.post("/chat/helpdesk/stream", data=form, headers={"Accept": "text/event-stream"})


def events(response) -> list:
    """The `data:` payloads of a server-sent event stream, `[DONE]` as the string."""
    found = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in found]


def test_the_stream_sends_the_plain_posts_answer_piece_by_piece_with_sources_and_usage(pages):
    html = pages.get("/chat/helpdesk").text
    whole = ask(pages, html, QUESTION)
    streamed = stream(pages, html, QUESTION)
    assert streamed.status_code == 200
    assert streamed.mimetype == "text/event-stream"
    got = events(streamed)
    assert got[-1] == "[DONE]"
    pieces = [c["delta"]["content"] for e in got[:-1] for c in e["choices"] if c["delta"].get("content")]
    assert len(pieces) > 5
    (answer,) = [t for t in json.loads(_conversation(whole.text)) if t["role"] == "assistant"]
    assert "".join(pieces) == answer["content"]
    (finish,) = [c for e in got[:-1] for c in e["choices"] if c["finish_reason"]]
    cited = [a["url_citation"]["url"] for a in finish["delta"]["annotations"]]
    assert cited == [source for _title, source in answer["sources"]]
    assert got[-2]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize(("field", "value", "words"), [
    ("message", "  ", "Type a message first"), ("temperature", "hot", "Temperature must be a number"),
    ("message", "x" * 500_001, "more than 500000 characters")])
def test_the_stream_explains_bad_input_in_openais_error_format(pages, field, value, words):
    html = pages.get("/chat/helpdesk").text
    response = stream(pages, html, **{"message": "hello", field: value})
    assert response.status_code == 400
    assert words in response.get_json()["error"]["message"]


def test_the_stream_needs_the_pages_token(pages):
    response = pages.post("/chat/helpdesk/stream", data={"message": "hello"})
    assert response.status_code == 400
    assert "text/event-stream" not in response.content_type


def test_a_stream_is_logged_as_a_page_call_and_a_dropped_one_as_incomplete(logging_kinds_app):  # noqa: F811
    client = logging_kinds_app.test_client()
    html = client.get("/chat/helpdesk").text
    whole = stream(client, html, QUESTION)
    assert events(whole)[-1] == "[DONE]"  # read to its end
    (row,) = logged_rows(logging_kinds_app, request_id=whole.headers["X-Podium-Request-ID"])
    assert (row.source, row.inputs["stream"], row.inputs["prompt"]) == ("page", True, QUESTION)
    assert row.inputs["finish_reason"] in ("stop", "length")
    form = {"csrf_token": csrf(html), "message": QUESTION}
    dropped = client.post("/chat/helpdesk/stream", data=form, buffered=False)
    next(dropped.response)  # the first event, then the reader goes away
    dropped.close()
    (row,) = logged_rows(logging_kinds_app, request_id=dropped.headers["X-Podium-Request-ID"])
    assert row.inputs["finish_reason"] == "incomplete"

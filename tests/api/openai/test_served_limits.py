"""The official `openai` client against a real gunicorn whose clients have a rate limit (bob) and a
daily quota (alice): it raises its own RateLimitError, with OpenAI's codes and the server's
Retry-After, and a spent quota tells it not to retry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import openai
import pytest

from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn
from webapp.demos import train_demos

QUESTION = [{"role": "user", "content": "How do I roll back to the previous version?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("limited")
    train_demos(root / "store", {"helpdesk"})
    env = {"PODIUM_RATE_LIMITS": json.dumps({USER[0]: "2/minute"}),
           "PODIUM_QUOTAS": json.dumps({ADMIN[0]: 1})}
    with gunicorn(root / "store", root / "instance", {"admin": ADMIN, "user": USER}, workers=1,
                  **env) as running:
        yield running


@contextmanager
def client_of(server, who: tuple[str, str]) -> Iterator[openai.OpenAI]:
    """An OpenAI client that does not retry, closed after its test (no socket left to the collector)."""
    with openai.OpenAI(base_url=server.url + "/openai/v1", api_key=f"{who[0]}:{who[1]}",
                       max_retries=0, timeout=30) as client:
        yield client


@pytest.fixture
def bob(server):
    with client_of(server, USER) as client:
        yield client


@pytest.fixture
def alice(server):
    with client_of(server, ADMIN) as client:
        yield client


def test_a_client_over_its_rate_limit_gets_rate_limit_error_with_retry_after(bob):
    client = bob
    raw = client.chat.completions.with_raw_response.create(model="helpdesk", messages=QUESTION, max_tokens=5)
    assert (raw.headers["RateLimit-Limit"], raw.headers["RateLimit-Remaining"]) == ("2", "1")
    client.chat.completions.create(model="helpdesk", messages=QUESTION, max_tokens=5, stream=True).close()
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="helpdesk", messages=QUESTION)
    refused = caught.value
    assert (refused.status_code, refused.code, refused.type) == (429, "rate_limit_exceeded", "requests")
    assert 0 < int(refused.response.headers["Retry-After"]) <= 60
    assert refused.response.headers["RateLimit-Remaining"] == "0"
    assert "x-should-retry" not in refused.response.headers


def test_a_spent_daily_quota_says_insufficient_quota_and_not_to_retry(alice):
    client = alice
    assert client.chat.completions.create(model="helpdesk", messages=QUESTION).choices[0].message.content
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="helpdesk", messages=QUESTION)
    assert (caught.value.code, caught.value.type) == ("insufficient_quota", "insufficient_quota")
    assert caught.value.response.headers["x-should-retry"] == "false"

"""A chat model that forwards to an upstream, where the upstream is a second real Podium: the official
`openai` client talks to the proxy, the proxy to the upstream's `/openai/v1` with its own credentials.
An upstream that refuses, cannot be reached or never answers is a 502 or 504 in OpenAI's format,
within the manifest's timeouts; the proxy's metrics count tokens and time to first token."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import openai
import pytest
import requests

from tests.conftest import USER
from tests.support.openai_server import openai_server
from tests.support.server import free_port, gunicorn
from webapp.demos import train_demos

pytestmark = pytest.mark.integration
UPSTREAM_USER = ("proxy", "proxy-password1")
QUESTION = [{"role": "user", "content": "How do I roll back to the previous version?"}]


def proxy_version(store, name, base_url, model="helpdesk", **settings):
    folder = store / name / "1"
    folder.mkdir(parents=True)
    upstream = {"base_url": base_url, "model": model, "api_key_env": "PODIUM_UPSTREAM_KEY_PODIUM",
                "connect_timeout": 1, "read_timeout": 1, "total_timeout": 5, **settings}
    manifest = {"framework": "chat", "task": "chat", "artifact": "model.json",
                "description": f"The helpdesk, forwarded to {base_url}",
                "chat": {"backend": "upstream", "upstream": upstream}}
    (folder / "model.json").write_text(json.dumps(manifest))


@contextlib.contextmanager
def silent_server():
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        sock.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxy")
    train_demos(root / "upstream-store", {"helpdesk"})
    with gunicorn(root / "upstream-store", root / "upstream", {"user": UPSTREAM_USER},
                  workers=1) as upstream, silent_server() as silent, openai_server({}) as (odd, record):
        store = root / "proxy-store"
        proxy_version(store, "proxy", upstream.url + "/openai/v1")
        proxy_version(store, "silent", silent)
        proxy_version(store, "closed", f"http://127.0.0.1:{free_port()}/v1")
        proxy_version(store, "ghost", upstream.url + "/openai/v1", model="ghost")
        proxy_version(store, "drip", odd, model="drip", read_timeout=2, total_timeout=60)
        proxy_version(store, "stalls", odd, model="silent-stream")
        proxy_version(store, "wrongkey", upstream.url + "/openai/v1", api_key_env="PODIUM_UPSTREAM_KEY_WRONG")
        keys = {"PODIUM_UPSTREAM_KEY_PODIUM": f"{UPSTREAM_USER[0]}:{UPSTREAM_USER[1]}",  # Podium's key form
                "PODIUM_UPSTREAM_KEY_WRONG": f"{UPSTREAM_USER[0]}:not-the-password"}
        with gunicorn(store, root / "proxy", {"user": USER}, workers=1, **keys) as proxy:
            yield upstream, proxy, record


def client(server, user=USER):
    return openai.OpenAI(base_url=server.url + "/openai/v1", api_key=f"{user[0]}:{user[1]}",
                         max_retries=0, timeout=20)


def test_the_proxy_answers_what_the_upstream_answers(servers):
    upstream, proxy, _ = servers
    direct = client(upstream, UPSTREAM_USER).chat.completions.create(model="helpdesk", messages=QUESTION,
                                                                     max_tokens=25)
    forwarded = client(proxy).chat.completions.create(model="proxy", messages=QUESTION, max_tokens=25)
    assert forwarded.choices[0].message.content == direct.choices[0].message.content
    assert forwarded.usage.completion_tokens == 25
    assert forwarded.model == "proxy"
    chunks = list(client(proxy).chat.completions.create(model="proxy", messages=QUESTION, max_tokens=25,
                                                        stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) \
        == direct.choices[0].message.content


@pytest.mark.parametrize(("model", "status", "code", "words"), [
    ("closed", 502, "upstream_error", "Cannot reach the upstream"),
    ("ghost", 502, "upstream_error", "The upstream answered HTTP 404"),
    ("wrongkey", 502, "upstream_error", "The upstream answered HTTP 401: Incorrect API key"),
    ("silent", 504, "upstream_timeout", "did not answer within 1s"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_a_failing_upstream_is_a_502_or_504_in_openais_format(servers, model, status, code, words, stream):
    _, proxy, _ = servers
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client(proxy).chat.completions.create(model=model, messages=QUESTION, stream=stream)
    assert time.monotonic() - started < 5
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert words in caught.value.message


def test_the_proxy_counts_tokens_and_time_to_first_token(servers):
    _, proxy, _ = servers
    list(client(proxy).chat.completions.create(model="proxy", messages=QUESTION, stream=True, max_tokens=10))
    text = requests.get(proxy.url + "/metrics", timeout=10).text
    lines = [line for line in text.splitlines()
             if line.startswith("podium_chat_") and 'model="proxy"' in line]
    completion = [line for line in lines
                  if line.startswith("podium_chat_tokens_total") and "completion" in line]
    assert completion
    assert float(completion[0].split()[-1]) >= 10
    first = [line for line in lines if line.startswith("podium_chat_time_to_first_token_seconds_count")]
    assert first
    assert float(first[0].split()[-1]) >= 1
    assert 'protocol="openai"' in text


def test_a_client_that_drops_a_stream_closes_the_upstream_read(servers):
    _, proxy, record = servers
    body = {"model": "drip", "messages": QUESTION, "stream": True}
    with requests.post(proxy.url + "/openai/v1/chat/completions", json=body, auth=USER, stream=True,
                       timeout=10) as response:
        lines = response.iter_lines()
        assert [next(lines) for _ in range(6)]  # a few pieces arrived; then the client goes away
    assert record.dropped.wait(10)  # the proxy closed its upstream read instead of draining 30 s
    assert requests.get(proxy.url + "/readyz", timeout=5).status_code == 200


def test_an_upstream_that_stalls_mid_stream_ends_it_with_an_error_event(servers):
    _, proxy, _ = servers
    started = time.monotonic()
    stream = client(proxy).chat.completions.create(model="stalls", messages=QUESTION, stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert time.monotonic() - started < 5
    assert "stopped sending" in str(caught.value)

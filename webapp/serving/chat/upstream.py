"""The forwarding chat backend: any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, Podium).

Every call is bounded: a connect timeout, a read timeout between bytes and a total deadline, so a
silent, slow-dripping or endless upstream ends in `UpstreamTimeout` (504) and anything that is not a
chat completion in `UpstreamFailed` (502). A stream the caller stops reading is closed, which closes
the upstream connection too. The key is read from the environment on every call and never logged.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import requests
from urllib3.exceptions import ReadTimeoutError

from .conversation import ChatAnswer, ChatRequest, Chunk, Message, Usage, count_tokens
from .errors import UpstreamFailed, UpstreamTimeout
from .retrieval import Retriever, sources
from .sse import Deadline, read_body, sse_events
from .upstream_settings import UpstreamSettings

GROUNDING = "Answer from these passages when they are relevant, and name the source you used."


class UpstreamBackend:
    """Chat by forwarding to the upstream the manifest names, optionally grounded in retrieved passages."""

    path = "upstream"

    def __init__(self, settings: UpstreamSettings, retriever: Retriever | None = None) -> None:
        self.settings, self.retriever = settings, retriever
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def answer(self, request: ChatRequest) -> ChatAnswer:
        messages, hits = self._messages(request)
        deadline = Deadline.start(self.settings.total_timeout)
        with self._post(messages, request, stream=False) as response:
            body = read_body(response, deadline, self.settings.max_bytes)
        choice, usage = _completion(body)
        text = choice["message"].get("content") or ""
        return ChatAnswer(text, _finish(choice), _usage(usage, messages, text), sources(hits))

    def stream(self, request: ChatRequest) -> UpstreamStream:
        """Connect now, so a refused or failing upstream raises here, before a caller sends any byte;
        then the chunks as the upstream sends them. Closing the stream closes the upstream connection."""
        messages, hits = self._messages(request)
        deadline = Deadline.start(self.settings.total_timeout)
        response = self._post(messages, request, stream=True)
        return UpstreamStream(response, self._chunks(response, deadline, messages, hits))

    def _chunks(self, response: requests.Response, deadline: Deadline, messages: list[Message],
                hits: list) -> Iterator[Chunk]:
        text, finish, usage = [], None, None
        try:
            for event in sse_events(response, deadline, self.settings.max_bytes):
                usage = event.get("usage") or usage
                for choice in _choices(event):
                    piece = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if piece:
                        text.append(piece)
                        yield Chunk(piece)
        finally:
            response.close()
        if finish is None:
            raise UpstreamFailed("The upstream's stream ended before it said why it finished")
        yield Chunk(finish_reason=_finish({"finish_reason": finish}),
                    usage=_usage(usage, messages, "".join(text)), sources=sources(hits))

    def _messages(self, request: ChatRequest) -> tuple[list[Message], list]:
        messages = list(request.messages)
        hits = self.retriever.find(request) if self.retriever is not None else []
        if hits:
            passages = "\n\n".join(f"[{n}] {p.title} ({p.source})\n{p.text}"
                                   for n, (p, _) in enumerate(hits, 1))
            at = sum(1 for m in messages if m.role == "system")  # after the caller's system prompt
            messages.insert(at, Message("system", f"{GROUNDING}\n\n{passages}"))
        return messages, hits

    def _post(self, messages: list[Message], request: ChatRequest, stream: bool) -> requests.Response:
        s = self.settings
        body: dict[str, Any] = {"model": s.model, "stream": stream, "temperature": request.temperature,
                                "messages": [{"role": m.role, "content": m.content} for m in messages]}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if stream:
            body["stream_options"] = {"include_usage": True}
        key = os.environ.get(s.api_key_env, "") if s.api_key_env else ""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            response = self._session().post(f"{s.base_url}/chat/completions", json=body, headers=headers,
                                             stream=True, timeout=(s.connect_timeout, s.read_timeout))
        except requests.Timeout:
            raise UpstreamTimeout(f"The upstream did not answer within {s.read_timeout:g}s") from None
        except requests.RequestException as exc:
            if isinstance(exc.args[0] if exc.args else None, ReadTimeoutError):
                raise UpstreamTimeout(f"The upstream did not answer within {s.read_timeout:g}s") from None
            raise UpstreamFailed(f"Cannot reach the upstream at {s.base_url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            with response:
                raise UpstreamFailed(f"The upstream answered HTTP {response.status_code}: "
                                     f"{_error_message(response.raw)}")
        return response


class UpstreamStream:
    """The chunks of an open upstream stream; `close()` ends the read even if it never started."""

    def __init__(self, response: requests.Response, chunks: Iterator[Chunk]) -> None:
        self._response, self._chunks = response, chunks

    def __iter__(self) -> UpstreamStream:
        return self

    def __next__(self) -> Chunk:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        self._response.close()


def _choices(event: dict[str, Any]) -> list[dict[str, Any]]:
    choices = event.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise UpstreamFailed("The upstream sent a stream event that is not a chat completion chunk")
    return choices


def _completion(body: Any) -> tuple[dict[str, Any], Any]:
    """The first choice and the usage of a chat completion; raises UpstreamFailed for anything else."""
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str | None):
        raise UpstreamFailed("The upstream's answer is not a chat completion (no choices[0].message)")
    return choice, body.get("usage")


def _finish(choice: dict[str, Any]) -> str:
    return "length" if choice.get("finish_reason") == "length" else "stop"


def _usage(usage: Any, messages: list[Message], text: str) -> Usage:
    """The upstream's own counts when it gave them, else ours."""
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int) and prompt >= 0 and completion >= 0:
            return Usage(prompt, completion)
    return Usage(sum(count_tokens(m.content) for m in messages), count_tokens(text))


def _error_message(raw: Any) -> str:
    """The upstream's own error message (OpenAI, TF Serving or plain text) from its first 64 KiB."""
    try:
        text = raw.read(65536, decode_content=True).decode("utf-8", "replace")
    except Exception:  # a broken error body must not hide the status it came with
        return "(unreadable body)"
    try:
        body = json.loads(text)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message", error) if isinstance(error, dict) else error
    except ValueError:
        message = text
    return str(message).strip()[:300] or "(empty body)"

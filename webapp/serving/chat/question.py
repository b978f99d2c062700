"""A chat call as the service runs it: the conversation, and whether the caller reads it as a stream.

Each call counts its tokens in and out (`podium_chat_tokens`) and, streamed, the time to its first
text (`podium_chat_time_to_first_token_seconds`), labelled with the version that answered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from webapp.serving.models.spec import ModelSpec
from webapp.serving.telemetry import metrics

from .conversation import ChatAnswer, ChatBackend, ChatRequest, Chunk, Usage


@dataclass(frozen=True)
class ChatQuestion:
    """What a protocol decodes for a chat model; `ask` answers whole, or starts the stream of chunks.

    A stream starts inside the version's queue place (an upstream connects then, so a refused one
    fails before any byte is sent) and is read after it.
    """

    request: ChatRequest
    stream: bool = False
    task = "chat"

    def ask(self, backend: ChatBackend, spec: ModelSpec) -> ChatAnswer | Iterator[Chunk]:
        labels = (spec.name, str(spec.version))
        if not self.stream:
            answer = backend.answer(self.request)
            _count(labels, answer.usage)
            return answer
        return _metered(backend.stream(self.request), labels, time.perf_counter())


def _count(labels: tuple[str, str], usage: Usage | None) -> None:
    if usage is not None:
        metrics.CHAT_TOKENS.labels(*labels, "prompt").inc(usage.prompt_tokens)
        metrics.CHAT_TOKENS.labels(*labels, "completion").inc(usage.completion_tokens)


def _metered(chunks: Iterator[Chunk], labels: tuple[str, str], started: float) -> Iterator[Chunk]:
    """The chunks as they come, timing the first text; closing this closes the backend's stream."""
    first = True
    try:
        for chunk in chunks:
            if first and chunk.text:
                metrics.CHAT_FIRST_TOKEN.labels(*labels).observe(time.perf_counter() - started)
                first = False
            if chunk.usage is not None:
                _count(labels, chunk.usage)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()

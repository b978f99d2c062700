"""A chat call as the service runs it: the conversation, and whether the caller reads it as a stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .conversation import ChatAnswer, ChatBackend, ChatRequest, Chunk


@dataclass(frozen=True)
class ChatQuestion:
    """What a protocol decodes for a chat model; `ask` answers whole, or starts the stream of chunks.

    A stream starts inside the version's queue place (an upstream connects then, so a refused one
    fails before any byte is sent) and is read after it.
    """

    request: ChatRequest
    stream: bool = False
    task = "chat"

    def ask(self, backend: ChatBackend) -> ChatAnswer | Iterator[Chunk]:
        return backend.stream(self.request) if self.stream else backend.answer(self.request)

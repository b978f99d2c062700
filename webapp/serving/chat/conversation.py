"""A chat call as plain values, whatever protocol brought it: messages in, an answer or chunks out.

Tokens are counted as words and punctuation marks (`count_tokens`): a real tokenizer's files would
have to be downloaded at run time, which a server without internet cannot do, and the count only
feeds usage figures and the `max_tokens` cut. English text has about 1.3 BPE tokens per such token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from webapp.serving.errors import InvalidInput

ROLES = ("system", "user", "assistant")
MAX_CHARS = 500_000  # all message contents together: bounds the work of one call, whoever sends it
TOKEN = re.compile(r"\w+|[^\w\s]")
PIECE = re.compile(r"\s*\S+")


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """The conversation so far and the sampling settings (temperature is for backends that sample)."""

    messages: tuple[Message, ...]
    temperature: float = 1.0
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not any(m.role == "user" for m in self.messages):
            raise InvalidInput("The conversation needs at least one user message")
        if sum(len(m.content) for m in self.messages) > MAX_CHARS:
            raise InvalidInput(f"The messages hold more than {MAX_CHARS} characters together")

    @property
    def system_prompt(self) -> str:
        return "\n\n".join(m.content for m in self.messages if m.role == "system")

    @property
    def last_user_message(self) -> str:
        return next(m.content for m in reversed(self.messages) if m.role == "user")

    @property
    def earlier_user_messages(self) -> list[str]:
        users = [m.content for m in self.messages if m.role == "user"]
        return users[:-1]


@dataclass(frozen=True)
class Source:
    """Where an answer came from: a passage's title, its address (`docs/x.md#heading`) and score."""

    title: str
    source: str
    score: float


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    finish_reason: str  # "stop" (complete or cut at a stop sequence) | "length" (cut at max_tokens)
    usage: Usage
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A piece of a streamed answer; the last one has `finish_reason`, `usage` and the sources."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    sources: tuple[Source, ...] = field(default=())


class ChatBackend(Protocol):
    """What the service calls on a loaded chat version."""

    path: str

    def answer(self, request: ChatRequest) -> ChatAnswer: ...

    def stream(self, request: ChatRequest) -> Iterator[Chunk]: ...


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def prompt_tokens(request: ChatRequest) -> int:
    return sum(count_tokens(m.content) for m in request.messages)


def cut(text: str, max_tokens: int | None, stop: tuple[str, ...]) -> tuple[str, str]:
    """The text as a model bound by `max_tokens` and `stop` would have produced it, and why it ended."""
    stop_at = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    limit_at = len(text)
    if max_tokens is not None:
        tokens = list(TOKEN.finditer(text))
        if len(tokens) > max_tokens:
            limit_at = tokens[max_tokens - 1].end() if max_tokens > 0 else 0
    if limit_at < stop_at:
        return text[:limit_at], "length"
    return text[:stop_at], "stop"


def pieces(text: str) -> list[str]:
    """The text as stream pieces (a word with the space before it); joined, they are the text."""
    parts = PIECE.findall(text)
    tail = text[sum(len(p) for p in parts):]
    if tail:
        parts.append(tail)
    return parts

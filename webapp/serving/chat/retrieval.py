"""The offline chat backend: answer with the passage that best matches the question, and say where from.

It cannot follow a system prompt or sample, so `temperature` and the system prompt change nothing;
`max_tokens` and `stop` cut the answer as they would cut a model's. Earlier user messages count a
little towards the search, so a follow-up ("and how do I undo it?") keeps its context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput

from .conversation import (
    ChatAnswer,
    ChatRequest,
    Chunk,
    Source,
    Usage,
    count_tokens,
    cut,
    pieces,
    prompt_tokens,
)
from .index import Passage, TfidfIndex

NOT_FOUND = ("I found nothing about that in the documents I know. "
             "Try other words, or ask about one thing at a time.")


@dataclass(frozen=True)
class RetrievalSettings:
    """The manifest's `chat.retrieval` section."""

    top: int = 3  # passages returned as sources
    min_score: float = 0.05  # cosine below which a passage does not count as an answer
    history_weight: float = 0.3  # weight of earlier user messages in the query

    @classmethod
    def from_manifest(cls, section: Any) -> RetrievalSettings:
        section = section or {}
        if not isinstance(section, dict):
            raise InvalidInput("Invalid manifest: chat.retrieval must be an object")
        try:
            settings = cls(int(section.get("top", 3)), float(section.get("min_score", 0.05)),
                           float(section.get("history_weight", 0.3)))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"Invalid manifest: chat.retrieval holds a non-number ({exc})") from None
        s = settings
        if not (1 <= s.top <= 20 and 0 <= s.min_score < 1 and 0 <= s.history_weight <= 1):
            raise InvalidInput("Invalid manifest: chat.retrieval needs 1 <= top <= 20, "
                               "0 <= min_score < 1 and 0 <= history_weight <= 1")
        return settings


class Retriever:
    """Finds the passages for a conversation; used alone (retrieval chat) or to ground an upstream."""

    def __init__(self, index: TfidfIndex, settings: RetrievalSettings) -> None:
        self.index, self.settings = index, settings

    @classmethod
    def load(cls, folder: Path, section: Any) -> Retriever:
        return cls(TfidfIndex.load(folder), RetrievalSettings.from_manifest(section))

    def find(self, request: ChatRequest) -> list[tuple[Passage, float]]:
        query = self.index.vector(request.last_user_message)
        if request.earlier_user_messages and self.settings.history_weight > 0:
            query = query + self.settings.history_weight * self.index.vector(
                "\n".join(request.earlier_user_messages))
        norm = float(np.sqrt(query.multiply(query).sum()))
        hits = self.index.search(query / norm if norm > 0 else query, self.settings.top)
        return [(p, s) for p, s in hits if s >= self.settings.min_score]


def sources(hits: list[tuple[Passage, float]]) -> tuple[Source, ...]:
    return tuple(Source(p.title, p.source, round(s, 4)) for p, s in hits)


class RetrievalBackend:
    """Chat over an index: the best passage is the answer, the others are further sources."""

    path = "retrieval"

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def answer(self, request: ChatRequest) -> ChatAnswer:
        hits = self.retriever.find(request)
        best = hits[0][0] if hits else None
        text = f"{best.text}\n\nSource: {best.title} ({best.source})" if best else NOT_FOUND
        text, reason = cut(text, request.max_tokens, request.stop)
        return ChatAnswer(text, reason, Usage(prompt_tokens(request), count_tokens(text)), sources(hits))

    def stream(self, request: ChatRequest) -> Iterator[Chunk]:
        """The same answer in word-sized pieces, then a closing chunk with the reason and usage."""
        answer = self.answer(request)
        for piece in pieces(answer.text):
            yield Chunk(piece)
        yield Chunk(finish_reason=answer.finish_reason, usage=answer.usage, sources=answer.sources)

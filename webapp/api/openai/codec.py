"""OpenAI's chat-completions wire format, as KServe mounts it under `/openai/v1`: pure functions, no Flask.

- `parse_chat_body(raw)` -> `ChatCall` (or `BadChatRequest`, see `request.py`);
- `encode_completion(...)` -> the `chat.completion` object;
- `encode_stream(...)` -> server-sent events: `chat.completion.chunk` objects, then `data: [DONE]`;
- `encode_error(exc)` -> (status, `{"error": {"message", "type", "param", "code"}}`);
- `encode_models(...)` / `encode_model(...)` -> the `/models` list and one model.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

from webapp.serving.chat.conversation import ChatAnswer, Chunk, Source, Usage
from webapp.serving.errors import ModelNotFound, ServingError

from .request import BadChatRequest, ChatCall, parse_chat, parse_chat_body

__all__ = ["STREAM_HEADERS", "BadChatRequest", "ChatCall", "encode_completion", "encode_error",
           "encode_model", "encode_models", "encode_stream", "error_body", "new_completion_id", "parse_chat",
           "parse_chat_body", "sse"]

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering
ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
ERROR_CODES = {502: "upstream_error", 503: "unavailable", 504: "upstream_timeout", 413: "payload_too_large"}


def new_completion_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


def _usage(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens}


def _annotations(sources: tuple[Source, ...], content_length: int) -> list[dict[str, Any]]:
    """Sources as OpenAI's URL citations, each spanning the whole answer it supports."""
    return [{"type": "url_citation", "url_citation": {"url": s.source, "title": s.title,
                                                      "start_index": 0, "end_index": content_length}}
            for s in sources]


def encode_completion(answer: ChatAnswer, model: str, completion_id: str, created: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.sources:
        message["annotations"] = _annotations(answer.sources, len(answer.text))
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason,
                         "logprobs": None}],
            "usage": _usage(answer.usage)}


def sse(data: dict[str, Any]) -> bytes:
    """One server-sent event: a `data:` line of compact JSON and a blank line."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def encode_stream(chunks: Iterable[Chunk], model: str, completion_id: str, created: int,
                  include_usage: bool = False) -> Iterator[bytes]:
    """The events of a streamed answer; closing this generator closes `chunks` (and an upstream read).

    A ServingError raised while streaming becomes an `{"error": ...}` event, which OpenAI's clients
    raise as an APIError; the stream then ends without `[DONE]`.
    """
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                         "logprobs": None}]})

    try:
        yield event({"role": "assistant", "content": ""})
        length = 0
        for chunk in chunks:
            if chunk.text:
                length += len(chunk.text)
                yield event({"content": chunk.text})
            if chunk.finish_reason is not None:
                delta = {"annotations": _annotations(chunk.sources, length)} if chunk.sources else {}
                yield event(delta, chunk.finish_reason)
                if include_usage and chunk.usage is not None:
                    yield sse({**head, "choices": [], "usage": _usage(chunk.usage)})
        yield b"data: [DONE]\n\n"
    except ServingError as exc:
        yield sse(encode_error(exc)[1])
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def error_body(message: str, error_type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def encode_error(exc: ServingError) -> tuple[int, dict[str, Any]]:
    """The status and OpenAI-format body for any serving error."""
    status = exc.status
    if isinstance(exc, BadChatRequest):
        return status, error_body(exc.message, param=exc.param, code=exc.openai_code)
    if isinstance(exc, ModelNotFound):
        message = f"The model '{exc.name}' does not exist or you do not have access to it."
        return status, error_body(message, param="model", code="model_not_found")
    error_type = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return status, error_body(exc.message, error_type, code=ERROR_CODES.get(status))


def encode_model(name: str, created: int, owned_by: str = "podium") -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": owned_by}


def encode_models(models: Iterable[tuple[str, int]], owned_by: str = "podium") -> dict[str, Any]:
    """The `/models` list from (name, created) pairs."""
    return {"object": "list", "data": [encode_model(n, c, owned_by) for n, c in models]}

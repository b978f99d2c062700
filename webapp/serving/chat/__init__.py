"""The chat model kind: OpenAI-style conversations answered offline from an index, or by an upstream."""

from .conversation import ChatAnswer, ChatBackend, ChatRequest, Chunk, Message, Source, Usage
from .errors import UpstreamFailed, UpstreamTimeout
from .runtime import load_chat

__all__ = ["ChatAnswer", "ChatBackend", "ChatRequest", "Chunk", "Message", "Source", "Usage",
           "UpstreamFailed", "UpstreamTimeout", "load_chat"]

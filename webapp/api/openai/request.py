"""Parse and check a `/openai/v1/chat/completions` body into a `ChatRequest`, in OpenAI's own terms.

Each refusal is a `BadChatRequest` naming the parameter (`messages[2].role`) and OpenAI's error code,
so clients written for OpenAI show the message they would show for OpenAI. Parameters that only
steer sampling (top_p, penalties, seed, ...) are accepted and have no effect; features Podium's chat
models do not have (tools, several choices, images, log probabilities) are refused by name.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from webapp.serving.chat.conversation import MAX_CHARS, ChatRequest, Message
from webapp.serving.errors import InvalidInput

MAX_MESSAGES = 1000
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
NO_EFFECT = {"top_p", "presence_penalty", "frequency_penalty", "seed", "user", "metadata", "store",
             "logit_bias", "service_tier", "parallel_tool_calls", "prompt_cache_key", "safety_identifier",
             "reasoning_effort", "verbosity", "top_k", "moderation", "prompt_cache_options",
             "prompt_cache_retention"}
REFUSED = {"tools": "call tools", "tool_choice": "call tools", "functions": "call functions",
           "function_call": "call functions", "audio": "answer with audio", "modalities": "answer with audio",
           "prediction": "use predicted outputs", "web_search_options": "search the web",
           "top_logprobs": "give log probabilities"}
KNOWN = {"model", "messages", "temperature", "max_tokens", "max_completion_tokens", "stop", "stream",
         "stream_options", "n", "logprobs", "response_format"} | NO_EFFECT | set(REFUSED)


class BadChatRequest(InvalidInput):
    """A body OpenAI would refuse; `param` and `openai_code` fill OpenAI's error object."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param, self.openai_code = param, code


@dataclass(frozen=True)
class ChatCall:
    """A parsed call: which model, the conversation, and how to answer (streamed, with usage)."""

    model: str
    request: ChatRequest
    stream: bool = False
    include_usage: bool = False


def parse_chat_body(raw: bytes | str) -> ChatCall:
    """The call a request body asks for; raises BadChatRequest in OpenAI's terms."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadChatRequest("We could not parse the JSON body of your request. Send a JSON object "
                             "with Content-Type: application/json.", None, "invalid_json") from None
    if not isinstance(body, dict):
        raise BadChatRequest("The request body must be a JSON object", None, "invalid_type")
    return parse_chat(body)


def parse_chat(body: dict[str, Any]) -> ChatCall:
    _check_parameters(body)
    model = _required(body, "model")
    if not isinstance(model, str) or not model:
        raise _bad_type("model", "a non-empty string", model)
    stream = _optional(body, "stream", bool, False)
    options = body.get("stream_options")
    if options is not None and not stream:
        raise BadChatRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                             "stream_options", "invalid_value")
    include_usage = _optional(options or {}, "include_usage", bool, False, "stream_options.include_usage")
    request = ChatRequest(_messages(body), _temperature(body), _max_tokens(body), _stop(body))
    return ChatCall(model, request, stream, include_usage)


def _check_parameters(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - KNOWN)
    if unknown:
        raise BadChatRequest(f"Unrecognized request argument supplied: {unknown[0]}", unknown[0],
                             "unknown_parameter")
    for name, what in REFUSED.items():
        if body.get(name) not in (None, [], {}, "none"):
            raise BadChatRequest(f"Podium's chat models do not {what}: remove '{name}'.", name,
                                 "unsupported_parameter")
    if body.get("n", 1) != 1 or isinstance(body.get("n"), bool):
        raise BadChatRequest("Podium's chat models answer with one choice: 'n' must be 1.", "n",
                             "unsupported_value")
    if body.get("logprobs") not in (None, False):
        raise BadChatRequest("Podium's chat models do not give log probabilities.", "logprobs",
                             "unsupported_value")
    response_format = body.get("response_format")
    if response_format is not None and response_format != {"type": "text"}:
        raise BadChatRequest("Podium's chat models answer in plain text: response_format must be "
                             "{'type': 'text'}.", "response_format", "unsupported_value")


def _messages(body: dict[str, Any]) -> tuple[Message, ...]:
    items = _required(body, "messages")
    if not isinstance(items, list):
        raise _bad_type("messages", "an array", items)
    if not items:
        raise BadChatRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, "
                             "but got an empty array instead.", "messages", "empty_array")
    if len(items) > MAX_MESSAGES:
        raise BadChatRequest(f"Invalid 'messages': array too long. Expected an array with maximum length "
                             f"{MAX_MESSAGES}, but got {len(items)} instead.", "messages",
                             "array_above_max_length")
    messages = tuple(_message(item, f"messages[{i}]") for i, item in enumerate(items))
    if sum(len(m.content) for m in messages) > MAX_CHARS:
        raise BadChatRequest(f"The messages hold more than {MAX_CHARS} characters together.", "messages",
                             "string_above_max_length")
    if not any(m.role == "user" for m in messages):
        raise BadChatRequest("The conversation needs at least one message with role 'user'.", "messages",
                             "invalid_value")
    return messages


def _message(item: Any, where: str) -> Message:
    if not isinstance(item, dict):
        raise _bad_type(where, "an object", item)
    role = _required(item, "role", f"{where}.role")
    if role not in ROLES:
        shown = f"'{role}'" if isinstance(role, str) else repr(role)
        if role in ("tool", "function"):
            raise BadChatRequest(f"Podium's chat models do not call tools, so there is no '{role}' "
                                 "message to send.", f"{where}.role", "unsupported_value")
        raise BadChatRequest(f"Invalid value: {shown[:80]}. Supported values are: 'system', 'developer', "
                             "'user' and 'assistant'.", f"{where}.role", "invalid_value")
    content = item.get("content")
    if content is None and role != "assistant":
        raise BadChatRequest(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                             "missing_required_parameter")
    return Message(ROLES[role], _text(content, f"{where}.content"))


def _text(content: Any, where: str) -> str:
    """A content string, or the text of a list of text parts; other parts are refused."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _bad_type(where, "a string or an array of text parts", content)
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise BadChatRequest("Podium's chat models read text only: each content part must be "
                                 "{'type': 'text', 'text': ...}.", f"{where}[{i}]", "unsupported_value")
        texts.append(part["text"])
    return "\n".join(texts)


def _temperature(body: dict[str, Any]) -> float:
    value = body.get("temperature")
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad_type("temperature", "a decimal", value)
    if not 0 <= value <= 2:
        code = "decimal_above_max_value" if value > 2 else "decimal_below_min_value"
        raise BadChatRequest(f"Invalid 'temperature': expected a value from 0 to 2, but got {value} instead.",
                             "temperature", code)
    return float(value)


def _max_tokens(body: dict[str, Any]) -> int | None:
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad_type(name, "an integer", value)
    if value < 1:
        raise BadChatRequest(f"Invalid '{name}': integer below minimum value. Expected a value >= 1, "
                             f"but got {value} instead.", name, "integer_below_min_value")
    return value


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("stop")
    stops = [value] if isinstance(value, str) else value if value is not None else []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _bad_type("stop", "a string or an array of strings", value)
    if len(stops) > 4:
        raise BadChatRequest("Invalid 'stop': at most 4 stop sequences.", "stop", "array_above_max_length")
    return tuple(s for s in stops if s)


def _required(body: dict[str, Any], name: str, where: str | None = None) -> Any:
    if body.get(name) is None:
        where = where or name
        raise BadChatRequest(f"Missing required parameter: '{where}'.", where, "missing_required_parameter")
    return body[name]


def _optional(body: Any, name: str, kind: type, default: Any, where: str | None = None) -> Any:
    if not isinstance(body, dict):
        raise _bad_type(where.rsplit(".", 1)[0] if where else name, "an object", body)
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise _bad_type(where or name, "a boolean" if kind is bool else kind.__name__, value)
    return value


def _bad_type(where: str, expected: str, got: Any) -> BadChatRequest:
    kinds = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array",
             dict: "an object", type(None): "null"}
    return BadChatRequest(f"Invalid type for '{where}': expected {expected}, but got "
                          f"{kinds.get(type(got), type(got).__name__)} instead.", where, "invalid_type")

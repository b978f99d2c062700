"""Log rows for the kinds that take no tensor: what a recommender was asked and ranked, what a chat
was told and answered (on the writer's thread, from the references the request path handed over).

A recommender row's `inputs` is the request (`user`, `items` for a cold start, or `item` for similar
items, `k`, `exclude_seen`) beside the answer (`returned`, `scores`, `basis`); `label` is the top
item. A chat row's `inputs` holds the last user message (`prompt`), the system prompt, the answer
text, tokens in and out, the time to first token (streams) and the sources. Fields the manifest's
`monitoring.sensitive` names (`settings.KIND_FIELDS`) are hashed or encrypted like sensitive
features; a list of ids is protected id by id, so a hashed user or item still joins across rows.
The ranked items themselves are the model's answer and stay plain: the live hit rate compares them
with the items clicked.
"""

from __future__ import annotations

from typing import Any

from webapp.serving.chat.conversation import ChatAnswer
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.recommend.query import Profile, RecommendQuery
from webapp.serving.recommend.runtime import Recommendation

from .privacy import Protector
from .settings import MonitoringSpec


def _protect(mon: MonitoringSpec, protector: Protector, model: str, name: str, value: Any) -> Any:
    if value is None or name not in mon.sensitive:
        return value
    if isinstance(value, list | tuple):
        return [protector.protect(v, mon.sensitive_mode, model) for v in value]
    return protector.protect(value, mon.sensitive_mode, model)


def _recommendation(found: Recommendation, asked: dict[str, Any], hide) -> dict[str, Any]:
    inputs = {name: hide(name, value) for name, value in asked.items()}
    inputs.update(returned=list(found.items),  # the model's answer, never hidden: hit rate reads it
                  scores=[round(float(s), 6) for s in found.scores], basis=found.basis)
    inputs["k"] = asked.get("k") or len(found.items)
    return {"inputs": inputs, "label": inputs["returned"][0] if inputs["returned"] else None}


def recommend_rows(question: Any, values: Any, hide) -> list[dict[str, Any]]:
    """One row per request row: the call as asked and the ranked items it got."""
    if isinstance(question, Profile):
        _history, found = values
        return [_recommendation(found, {"user": question.user, "k": question.k}, hide)]
    assert isinstance(question, RecommendQuery)
    rows = []
    for row, found in zip(question.rows, values, strict=False):
        asked = {"user": row.user, "items": list(row.items) if row.items is not None else None,
                 "item": row.item, "k": row.k, "exclude_seen": row.exclude_seen}
        rows.append(_recommendation(found, {k: v for k, v in asked.items() if v is not None}, hide))
    return rows


def chat_row(question: ChatQuestion, answer: ChatAnswer, hide, first_token_s: float | None) -> dict[str, Any]:
    """The conversation's last user message and the answer, with its token counts."""
    request = question.request
    inputs = {"prompt": hide("prompt", request.last_user_message),
              "system": hide("system", request.system_prompt or None),
              "answer": hide("answer", answer.text), "messages": len(request.messages),
              "temperature": request.temperature, "max_tokens": request.max_tokens,
              "prompt_tokens": answer.usage.prompt_tokens,
              "completion_tokens": answer.usage.completion_tokens,
              "finish_reason": answer.finish_reason, "stream": question.stream,
              "first_token_s": None if first_token_s is None else round(first_token_s, 6),
              "sources": [s.source for s in answer.sources]}
    return {"inputs": inputs, "value": float(answer.usage.completion_tokens)}


def kind_rows(spec_name: str, mon: MonitoringSpec, extra: dict[str, Any],
              protector: Protector) -> list[dict[str, Any]]:
    """The rows of a recommender's or chat's answer; `extra` holds the question and its answer."""

    def hide(name: str, value: Any) -> Any:
        return _protect(mon, protector, spec_name, name, value)

    question = extra["question"]
    if isinstance(question, ChatQuestion):
        return [chat_row(question, extra["answer"], hide, extra.get("first_token_s"))]
    return recommend_rows(question, extra["answer"], hide)

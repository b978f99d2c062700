"""The Open Inference Protocol for a recommender: BYTES ids in, `items` BYTES and `scores` FP32 [n, k] out.

One input, BYTES of shape [n] or [n, 1]: named `user` (top-k unseen items for each user; an unknown
user gets the popular items) or `item` (the k most similar items). Request parameters: `k` (the
manifest's default when absent) and `exclude_seen` (default true). A row with fewer than k items
to give (a tiny catalogue) is padded with "" and score 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from webapp.api.v2.tensors import Tensor
from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec
from webapp.serving.recommend.query import RecommendQuery, RecommendRow
from webapp.serving.service import Answer

OUTPUTS = ("items", "scores")
INPUTS = ("user", "item")


def to_question(tensors: list[Tensor], spec: ModelSpec, params: dict[str, Any]) -> RecommendQuery:
    if spec.task == "chat":
        raise InvalidInput(f"{spec.name} is a chat model: call POST /openai/v1/chat/completions")
    if len(tensors) != 1 or tensors[0].name not in INPUTS:
        raise InvalidInput(f"{spec.name} is a recommender: send one BYTES input named 'user' (items for "
                           "each user) or 'item' (similar items), shape [n] or [n, 1]")
    tensor = tensors[0]
    if tensor.datatype != "BYTES" or len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ((), (1,)):
        raise InvalidInput(f"Input '{tensor.name}' must be BYTES of shape [n] or [n, 1], got "
                           f"{tensor.datatype} {list(tensor.shape)}")
    exclude = params.get("exclude_seen", True)
    if not isinstance(exclude, bool):
        raise InvalidInput("The request: parameter exclude_seen must be true or false")
    try:
        ids = [value.decode("utf-8") for value in tensor.value]  # type: ignore[union-attr]
    except UnicodeDecodeError:
        raise InvalidInput(f"Input '{tensor.name}': ids must be UTF-8 text") from None
    k = params.get("k")
    if tensor.name == "item":
        return RecommendQuery(tuple(RecommendRow(item=i, k=k) for i in ids))
    return RecommendQuery(tuple(RecommendRow(user=u, k=k, exclude_seen=exclude) for u in ids))


def output(answer: Answer, name: str) -> tuple[str, list[int], Any]:
    """(datatype, shape, flat value) of `items` or `scores`, rows padded to the longest."""
    found = answer.values
    n, k = len(found), max(len(r.items) for r in found)
    if name == "items":
        return "BYTES", [n, k], [i.encode() for r in found for i in r.items + [""] * (k - len(r.items))]
    scores = np.zeros((n, k), dtype=np.float32)
    for row, r in enumerate(found):
        scores[row, : len(r.scores)] = r.scores
    return "FP32", [n, k], scores.reshape(-1)

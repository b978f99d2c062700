"""TF Serving's `:predict` for the kinds that take no tensor: a recommender's rows in and ranked items out.

`{"instances": [{"user": "u0042", "k": 10}]}` (or plain id strings) asks top-k items for users; an
object may send `"items"` instead of a user (a cold start) and `"exclude_seen": false`. The second
signature, chosen with `"signature_name": "similar_items"` as TF Serving chooses signatures, takes
`{"item": ...}` rows. A chat model answers at `/openai/v1/chat/completions` instead.
"""

from __future__ import annotations

from typing import Any

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec
from webapp.serving.recommend.query import RecommendQuery, RecommendRow
from webapp.serving.service import Answer

RECOMMEND = ("", "serving_default", "recommend", "tensorflow/serving/predict")
SIMILAR = "similar_items"


def parse(body: dict[str, Any], spec: ModelSpec, verb: str) -> RecommendQuery:
    """The service's question from a `:predict` body sent to a recommender (or a chat, refused)."""
    if spec.task == "chat":
        raise InvalidInput(f"{spec.name} is a chat model: call POST /openai/v1/chat/completions")
    if verb != "predict":
        raise InvalidInput(f"{spec.name} is a recommender: it answers :predict, not :{verb}")
    name = body.get("signature_name", "")
    if name not in (*RECOMMEND, SIMILAR):
        raise InvalidInput(f'Serving signature name: "{name}" not found in signature def '
                           f'(a recommender has "serving_default" and "{SIMILAR}")')
    if "inputs" in body:
        raise InvalidInput("A recommender takes 'instances': a list of ids or objects")
    rows = body.get("instances")
    if not isinstance(rows, list) or not rows:
        raise InvalidInput("'instances' must be a non-empty list")
    return RecommendQuery(tuple(RecommendRow.from_value(row, similar=name == SIMILAR) for row in rows))


def encode(answer: Answer) -> dict[str, Any]:
    """One prediction per instance: item ids, their names, scores (best first) and what they came from."""
    return {"predictions": [{"items": r.items, "names": r.names, "scores": r.scores, "basis": r.basis}
                            for r in answer.values]}

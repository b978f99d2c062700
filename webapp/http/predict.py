"""The one prediction call as every HTTP adapter makes it: who asks, what they name, what answered.

The answer is kept on the request (`g`) for the layers that report on it (metrics), so nobody has
to read the served version back from a response header.
"""

from __future__ import annotations

from flask import g, request

from webapp.extensions import service
from webapp.serving.models.versions import parse_version
from webapp.serving.service import Answer, Decoder, Target


def caller() -> str | None:
    """Who is asking, for sticky traffic splits: X-Request-Key when given, else the user."""
    return request.headers.get("X-Request-Key") or g.get("user")


def target(name: str, version: str | int | None = None, label: str | None = None,
           who: str | None = None) -> Target:
    """What a request names; raises InvalidVersion for a version that is not a positive integer."""
    return Target(name, parse_version(version), label, who if who is not None else caller())


def predict(where: Target, decode: Decoder) -> Answer:
    """Resolve, decode inside the version's queue place, predict; the answer, also kept on `g`."""
    answer = service().predict(where, decode)
    g.podium_answer = answer
    return answer


def answered() -> Answer | None:
    """The answer this request got, if it predicted."""
    return g.get("podium_answer")

"""The one prediction call as every HTTP adapter makes it: who asks, what they name, what answered.

The answer is kept on the request (`g`) for the layers that report on it (metrics), so nobody has
to read the served version back from a response header. Each answer, and each failure once a
version was chosen, is handed to the prediction log: a few microseconds here (a record of
references and a queue append); the writer thread does the rest.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import g, request

from webapp.extensions import monitoring, service
from webapp.http import quota
from webapp.serving.boundary import Question
from webapp.serving.errors import ServingError
from webapp.serving.inputs import Images, Inputs
from webapp.serving.models.spec import ModelSpec
from webapp.serving.models.versions import parse_version
from webapp.serving.monitored import (
    CHOSEN_BY,
    Monitoring,
    answer_record,
    failure_record,
    kind_record,
    logged_stream,
)
from webapp.serving.service import Answer, Decoder, Target

SOURCES = (("/api/v1/", "v1"), ("/api/v2/", "v2"), ("/openai/", "openai"))


def caller() -> str | None:
    """Who is asking, for sticky traffic splits: X-Request-Key when given, else the user."""
    return request.headers.get("X-Request-Key") or g.get("user")


def target(name: str, version: str | int | None = None, label: str | None = None,
           who: str | None = None) -> Target:
    """What a request names; raises InvalidVersion for a version that is not a positive integer."""
    return Target(name, parse_version(version), label, who if who is not None else caller())


def predict(where: Target, decode: Decoder) -> Answer:
    """Resolve, decode inside the version's queue place, predict; the answer, also kept on `g`."""
    watch = monitoring()
    answer = service().predict(where, decode) if watch is None else _logged(watch, where, decode)
    g.podium_answer, g.podium_answered_at = answer, time.perf_counter()  # encode time starts here
    quota.spend(len(answer.batch) if answer.batch is not None else 1)
    return answer


def answered() -> Answer | None:
    """The answer this request got, if it predicted."""
    return g.get("podium_answer")


def _logged(watch: Monitoring, where: Target, decode: Decoder) -> Answer:
    """Predict and hand the answer (or the failure, once a version was chosen) to the log."""
    seen: list[ModelSpec | Inputs] = []

    def decoding(spec: ModelSpec) -> Inputs:
        seen.append(spec)
        inputs = decode(spec)
        seen.append(inputs)
        return inputs

    try:
        answer = service().predict(where, decoding)
    except ServingError as exc:
        _failed(watch, where, seen, exc.status)
        raise
    except Exception:
        _failed(watch, where, seen, 500)
        raise
    if answer.batch is None:  # a recommender or a chat: its question and answer
        return _kind_logged(watch, where, answer, seen[1])
    here = g._get_current_object()  # one proxy lookup for the four reads of `g` below
    uploads = seen[1].images if isinstance(seen[1], Images) else None
    watch.log.submit(answer_record(answer, here.request_id, _elapsed(here), _source(),
                                   caller=_who(where, here),
                                   client_request_id=here.client_request_id, uploads=uploads))
    return answer


def _kind_logged(watch: Monitoring, where: Target, answer: Answer, question: Question) -> Answer:
    """Log a recommender's or a chat's answer; a stream is logged when it ends (or is dropped)."""
    rid, source, who, client = g.request_id, _source(), _who(where), g.client_request_id
    elapsed = _elapsed(g)
    if not getattr(question, "stream", False):  # a whole answer: logged now
        watch.log.submit(kind_record(answer, question, rid, elapsed, source, caller=who,
                                     client_request_id=client))
        return answer

    def done(chat: Any, first: float | None, streamed: float) -> None:
        watch.log.submit(kind_record(answer, question, rid, elapsed + streamed, source, caller=who,
                                     client_request_id=client, chat=chat, first_token_s=first))

    return replace(answer, values=logged_stream(answer.values, done))


def _failed(watch: Monitoring, where: Target, seen: list, status: int) -> None:
    if not seen:  # refused before a version took it (unknown, loading, overloaded): metrics count it
        return
    chosen = "label" if where.label else CHOSEN_BY["version"] if where.version else "default"
    watch.log.submit(failure_record(where.model, seen[0], g.request_id, _elapsed(g), status, _source(),
                                    chosen_by=chosen, caller=_who(where),
                                    client_request_id=g.client_request_id))


def _elapsed(here: Any) -> float:
    """Seconds since the request started, read from `here` (`g`, or the object behind it)."""
    now = time.perf_counter()
    return now - here.get("podium_started", now)


def _source() -> str:
    path = request.path
    for prefix, name in SOURCES:
        if path.startswith(prefix):
            return name
    return "page"


def _who(where: Target, here: Any = g) -> str | None:
    return here.get("user") or where.caller

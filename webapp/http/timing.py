"""`Server-Timing` on every prediction answer: where the time went, for the caller to see.

The core returns its queue wait, decode and compute times with the answer; this adapter adds the
time from the answer to the finished response (encoding it) and writes the four in milliseconds
(`Server-Timing: queue;dur=0.012, decode;dur=0.210, compute;dur=0.331, encode;dur=0.054`), as
browsers' developer tools and `curl -v` show them. The encode time also goes to the version's
statistics, beside the core's three.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g

from webapp.extensions import service
from webapp.http.predict import answered
from webapp.serving.scheduling.timing import Timings


def server_timing(timings: Timings, encode: float) -> str:
    """The header's value: four metrics with durations in milliseconds."""
    phases = (("queue", timings.queue), ("decode", timings.decode), ("compute", timings.compute),
              ("encode", encode))
    return ", ".join(f"{name};dur={seconds * 1000.0:.3f}" for name, seconds in phases)


def init_timing(app: Flask) -> None:
    @app.after_request
    def add_server_timing(response: Response) -> Response:
        answer = answered()
        if answer is not None:
            encode = time.perf_counter() - g.podium_answered_at
            response.headers["Server-Timing"] = server_timing(answer.timings, encode)
            service().record_encode(answer.served, encode)
        return response

"""Errors of a chat version that forwards to an upstream server: not the caller's fault, never a hang.

Each protocol renders them with its own format; OpenAI's routes answer 502/504 with
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

from webapp.serving.errors import ServingError


class UpstreamFailed(ServingError):
    """The upstream refused, broke the connection or answered something that is not a chat completion."""

    status = 502
    code = "UNAVAILABLE"


class UpstreamTimeout(ServingError):
    """The upstream did not answer (or finish its stream) in time."""

    status = 504
    code = "DEADLINE_EXCEEDED"

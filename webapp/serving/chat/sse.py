"""Read an upstream's answer within a deadline and a size cap: a JSON body or a server-sent event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ReadTimeoutError

from .errors import UpstreamFailed, UpstreamTimeout


@dataclass(frozen=True)
class Deadline:
    seconds: float
    at: float

    @classmethod
    def start(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise UpstreamTimeout(f"The upstream did not finish its answer within {self.seconds:g}s")


def _chunks(response: requests.Response, deadline: Deadline, max_bytes: int) -> Iterator[bytes]:
    """The body as it arrives; raises UpstreamTimeout past the deadline, UpstreamFailed past the cap."""
    total = 0
    try:
        for chunk in response.iter_content(chunk_size=8192):
            total += len(chunk)
            if total > max_bytes:
                raise UpstreamFailed(f"The upstream's answer is longer than {max_bytes} bytes")
            yield chunk
            deadline.check()
    except requests.ConnectionError as exc:  # requests reports a read timeout mid-body this way
        if exc.args and isinstance(exc.args[0], ReadTimeoutError):
            raise UpstreamTimeout("The upstream stopped sending in the middle of its answer") from None
        raise UpstreamFailed("The upstream broke the connection in the middle of its answer") from None
    except requests.RequestException as exc:
        raise UpstreamFailed(f"The upstream's answer could not be read ({type(exc).__name__})") from None


def read_body(response: requests.Response, deadline: Deadline, max_bytes: int) -> Any:
    """The whole body as JSON; raises UpstreamFailed when it is not JSON."""
    body = b"".join(_chunks(response, deadline, max_bytes))
    try:
        return json.loads(body)
    except ValueError:
        raise UpstreamFailed("The upstream's answer is not JSON") from None


def sse_events(response: requests.Response, deadline: Deadline, max_bytes: int) -> Iterator[dict[str, Any]]:
    """The JSON objects of `data:` lines until `data: [DONE]` or the end of the stream.

    OpenAI-compatible servers send one `data:` line per event; comments and other fields are
    skipped. An event carrying `error` raises UpstreamFailed with the upstream's message.
    """
    buffer = b""
    for chunk in _chunks(response, deadline, max_bytes):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            data = line.strip()
            if not data.startswith(b"data:"):
                continue
            data = data[5:].strip()
            if data == b"[DONE]":
                return
            yield _event(data)


def _event(data: bytes) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        raise UpstreamFailed("The upstream sent a stream event that is not JSON") from None
    if not isinstance(event, dict):
        raise UpstreamFailed("The upstream sent a stream event that is not a JSON object")
    if "error" in event:
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise UpstreamFailed(f"The upstream failed mid-stream: {str(message)[:300]}")
    return event

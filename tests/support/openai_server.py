"""A small real OpenAI-compatible HTTP server on loopback, built from Podium's own codec and a chat backend.

It answers `/openai/v1/chat/completions` (streamed and not) and `/openai/v1/models` the way the
`/openai` routes will, so the official client can be pointed at it; and it misbehaves on request,
so the upstream backend's timeouts and error handling meet a real socket. The model named in the
body picks the behaviour: any served name answers from the backend, others are in `MISBEHAVIOURS`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from webapp.api.openai import codec
from webapp.serving.chat.conversation import ChatBackend
from webapp.serving.errors import ModelNotFound, ServingError

MISBEHAVIOURS = ("slow", "garbage", "not-a-completion", "fail", "drip", "cut-stream", "error-stream",
                 "silent-stream")


@dataclass
class Record:
    """What the server saw: request bodies and headers, and streams whose client went away."""

    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    dropped: threading.Event = field(default_factory=threading.Event)


def _handler(backends: dict[str, ChatBackend], record: Record) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # streams end when the connection closes

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/openai/v1/models":
                return self._json(200, codec.encode_models((name, 1700000000) for name in sorted(backends)))
            return self._json(404, codec.error_body(f"Unknown path {self.path}"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/openai/v1/chat/completions":
                return self._json(404, codec.error_body(f"Unknown path {self.path}"))
            try:
                body = json.loads(raw)
                record.requests.append((dict(self.headers), body))
            except ValueError:
                pass
            model = body.get("model") if isinstance(body, dict) else None
            if model in MISBEHAVIOURS:
                return getattr(self, "_" + model.replace("-", "_"))()
            try:
                call = codec.parse_chat_body(raw)
                if call.model not in backends:
                    raise ModelNotFound(call.model)
                self._answer(call, backends[call.model])
            except ServingError as exc:
                self._json(*codec.encode_error(exc))

        def _answer(self, call: codec.ChatCall, backend: ChatBackend) -> None:
            cid, created = codec.new_completion_id(), int(time.time())
            if not call.stream:
                answer = backend.answer(call.request)
                return self._json(200, codec.encode_completion(answer, call.model, cid, created))
            self._start_stream()
            events = codec.encode_stream(backend.stream(call.request), call.model, cid, created,
                                         call.include_usage)
            self._send_all(events)

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _start_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()

        def _send_all(self, events: Iterator[bytes]) -> None:
            with contextlib.closing(events):
                try:
                    for event in events:
                        self.wfile.write(event)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    record.dropped.set()

        def _chunk(self, text: str, finish: str | None = None) -> bytes:
            return codec.sse({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1,
                              "model": "m", "choices": [{"index": 0, "delta": {"content": text},
                                                         "finish_reason": finish}]})

        def _slow(self) -> None:
            time.sleep(2.0)
            self._json(200, {"choices": [{"message": {"role": "assistant", "content": "late"}}]})

        def _garbage(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"<html>oops")

        def _not_a_completion(self) -> None:
            self._json(200, {"hello": "world"})

        def _fail(self) -> None:
            self._json(500, codec.error_body("The model fell over", "server_error"))

        def _drip(self) -> None:
            """A piece every 50 ms for up to 30 s, or until the client goes away."""
            self._start_stream()

            def pieces() -> Iterator[bytes]:
                for i in range(600):
                    yield self._chunk(f"word{i} ")
                    time.sleep(0.05)

            self._send_all(pieces())

        def _cut_stream(self) -> None:
            self._start_stream()
            self.wfile.write(self._chunk("half an ") + self._chunk("answer"))

        def _error_stream(self) -> None:
            self._start_stream()
            error = codec.sse(codec.error_body("GPU on fire", "server_error"))
            self.wfile.write(self._chunk("Hello") + error)

        def _silent_stream(self) -> None:
            self._start_stream()
            self.wfile.write(self._chunk("Hello"))
            self.wfile.flush()
            time.sleep(2.0)

    return Handler


@contextlib.contextmanager
def openai_server(backends: dict[str, ChatBackend]) -> Iterator[tuple[str, Record]]:
    """Serve on a free loopback port; yields (base URL up to `/openai/v1`, record); stops on exit."""
    record = Record()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(backends, record))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/openai/v1", record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""Connections that hold a server without finishing: slow headers, slow bodies, idle keep-alive.

Straight at gunicorn each slow connection holds a worker thread; behind nginx it holds only an
nginx connection. The connections come from another loopback address than the test's own client.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

HEAD = ("POST /api/v1/models/iris:predict HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\n")


def _connect(port: int, source: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _open(port: int, kind: str, source: str) -> socket.socket:
    sock = _connect(port, source)
    host = f"127.0.0.1:{port}"
    if kind == "header":  # the request line and part of the headers; one more byte now and then
        sock.sendall(HEAD.format(host=host).encode())
    elif kind == "body":  # every header, then a body far shorter than announced
        sock.sendall((HEAD.format(host=host) + "Content-Length: 100000\r\n\r\n{").encode())
    else:  # one finished request, then an idle keep-alive connection (the answer is not awaited)
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


@contextlib.contextmanager
def slow_clients(port: int, count: int = 64, source: str = "127.0.0.2", drip_seconds: float = 0.5,
                 kinds: tuple[str, ...] = ("header", "body", "idle")) -> Iterator[int]:
    """`count` connections, taking turns over `kinds`, dripping a byte every `drip_seconds`.

    The idle ones open first, while the server still answers.
    """
    wanted = sorted((kinds[i % len(kinds)] for i in range(count)), key=lambda kind: kind != "idle")
    held: list[tuple[str, socket.socket]] = []
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(drip_seconds):
            for kind, sock in held:
                if kind != "idle":
                    with contextlib.suppress(OSError):
                        sock.sendall(b"X" if kind == "header" else b" ")

    thread = threading.Thread(target=drip, daemon=True)
    try:
        held.extend((kind, _open(port, kind, source)) for kind in wanted)
        thread.start()
        yield len(held)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=5)
        for _, sock in held:
            sock.close()

"""Rows 22-24, 57 and 74 through a real gunicorn (production config) on a real socket.

The store holds only iris, so the server starts without TensorFlow and quickly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.helpers import IRIS_ROW
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("gunicorn-robustness")
    shutil.copytree(demo_store / "iris", root / "store" / "iris")
    with gunicorn(root / "store", root / "instance", {"admin": ADMIN, "user": USER},
                  PODIUM_MAX_CONTENT_LENGTH=str(LIMIT)) as running:
        yield running


def _raw(server, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes and read the answer's head and body (the server may close early)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunks[-1]:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def _authorization() -> str:
    import base64

    return "Basic " + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()


def test_declared_huge_content_length_is_refused_without_sending_the_body(server):
    """Row 22: 413 from the header alone."""
    head = (f"POST /api/v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nAuthorization: {_authorization()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {2**30}\r\nConnection: close\r\n\r\n")
    answer = _raw(server, head.encode() + b'{"instances": [')
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    body = rest.split(b"\r\n\r\n", 1)[1]
    assert "error" in json.loads(body)


def test_actual_body_over_the_limit(server):
    """Row 23."""
    body = b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * 5000) + b"]}"
    assert len(body) > LIMIT
    try:
        r = requests.post(server.url + "/api/v1/models/iris:predict", data=body, auth=USER, timeout=10)
    except requests.ConnectionError:
        pytest.skip("the server closed the connection before the answer could be read")
    assert r.status_code == 413
    assert "error" in r.json()


def _chunks(body: bytes, size: int = 1000):
    for i in range(0, len(body), size):
        yield body[i:i + size]


def test_chunked_bodies(server):
    """Row 24: no Content-Length; valid JSON answers 200, an oversized one 413."""
    good = json.dumps({"instances": [IRIS_ROW]}).encode()
    r = requests.post(server.url + "/api/v1/models/iris:predict", data=_chunks(good), auth=USER,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 1
    big = b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * 5000) + b"]}"
    r = requests.post(server.url + "/api/v1/models/iris:predict", data=_chunks(big), auth=USER,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413, r.text


def test_no_werkzeug_server_header_or_console(server):
    """Row 74."""
    r = requests.get(server.url + "/healthz", timeout=10)
    assert "werkzeug" not in r.headers.get("Server", "").lower()
    assert requests.get(server.url + "/console", timeout=10).status_code == 404


def _pids(server, attempts: int = 300, want: int = 2) -> set[int]:
    """Worker pids seen over fresh connections (the kernel picks the worker); stops at `want`."""
    pids = set()
    for _ in range(attempts):
        doc = requests.get(server.url + "/api/stats", auth=ADMIN, headers={"Connection": "close"},
                           timeout=10).json()
        pids.add(doc["process"]["pid"])
        if len(pids) >= want:
            break
    return pids


def test_a_killed_worker_is_replaced_and_the_service_stays_healthy(server):
    """Row 57: SIGKILL one worker; the master starts another and requests keep succeeding."""
    before = _pids(server)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    failures = 0
    while time.monotonic() < deadline:
        try:
            r = requests.post(server.url + "/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                              auth=USER, headers={"Connection": "close"}, timeout=10)
            failures += r.status_code != 200
        except requests.ConnectionError:
            failures += 1
        if requests.get(server.url + "/readyz", timeout=10).status_code == 200:
            after = _pids(server, attempts=60, want=3)
            if len(after) == 2 and victim not in after:
                break
        time.sleep(0.3)
    else:
        pytest.fail("no replacement worker became ready")
    assert failures <= 1, "more than the request in flight at the kill failed"
    assert "Traceback" not in server.output().split("Booting worker")[-1]

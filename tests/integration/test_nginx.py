"""Podium behind the shipped nginx config (deploy/nginx/podium.conf): Debian's nginx in front of a
real gunicorn, both on free loopback ports."""

from __future__ import annotations

import json
import re
import shutil
import socket
import statistics
import time

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.load import IRIS_ROW
from tests.support.nginx import binary, nginx
from tests.support.pages import csrf
from tests.support.server import ROOT, free_port, gunicorn
from tests.support.slow_clients import slow_clients

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    binary() is None, reason="nginx is not installed: scripts/install-services")]
PROXIED = {"PODIUM_PROXY_FIX_FOR": "1", "PODIUM_PROXY_FIX_PROTO": "1", "PODIUM_PROXY_FIX_HOST": "1",
           "PODIUM_AUTH_MAX_FAILURES": "3"}


@pytest.fixture(scope="module")
def podium(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("behind-nginx")
    shutil.copytree(demo_store / "iris", root / "store" / "iris")
    with gunicorn(root / "store", root / "instance", {"admin": ADMIN, "user": USER}, **PROXIED) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(podium, tmp_path_factory):
    with nginx(tmp_path_factory.mktemp("nginx"), [podium.url.removeprefix("http://")]) as running:
        yield running


def _normal_client(url: str, seconds: float = 3.0, pause: float = 0.01) -> tuple[int, int, list[float]]:
    """(succeeded, failed, latencies) of one keep-alive client predicting in a loop, under 100 a
    second: a normal client, which nginx's per-address rate limit (200/s, burst 400) lets through."""
    ok = failed = 0
    latencies = []
    with requests.Session() as session:
        session.auth = USER
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                r = session.post(f"{url}/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                                 timeout=5)
                ok, failed = (ok + 1, failed) if r.status_code == 200 else (ok, failed + 1)
            except requests.RequestException:
                failed += 1
            latencies.append(time.monotonic() - start)
            time.sleep(pause)
    return ok, failed, latencies


def _describe(label: str, ok: int, failed: int, latencies: list[float]) -> str:
    return (f"{label}: {ok} ok, {failed} failed, median {1000 * statistics.median(latencies):.0f} ms, "
            f"max {1000 * max(latencies):.0f} ms")


def test_slow_clients_wait_at_nginx_and_do_not_starve_a_normal_client(podium, proxy):
    """64 slow connections (headers, bodies, idle keep-alive) hold gunicorn's threads when they reach
    it directly; behind nginx the normal client keeps being answered. Only the latter is asserted."""
    direct_port = int(podium.url.rsplit(":", 1)[1])
    with slow_clients(direct_port):
        direct = _normal_client(podium.url)
    with slow_clients(proxy.port):
        behind = _normal_client(proxy.url)
    print("\n" + _describe("straight at gunicorn", *direct) + "\n" + _describe("behind nginx", *behind))
    ok, failed, _ = behind
    assert failed == 0, _describe("behind nginx", *behind)
    assert ok >= 10, _describe("behind nginx", *behind)


def _raw(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(data)
        answer = b""
        while not _complete(answer) and (chunk := sock.recv(65536)):
            answer += chunk
    return answer


def _complete(answer: bytes) -> bool:
    """A whole answer with a Content-Length (nginx may linger before closing after an error)."""
    head, found, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return bool(found and length and len(body) >= int(length.group(1)))


def _json_error(answer: bytes, status: int) -> dict:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == str(status).encode(), head
    assert b"application/json" in head, head
    return json.loads(body)


def test_a_body_over_the_limit_gets_json_413_from_nginx(proxy):
    head = (f"POST /api/v1/models/iris:predict HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {33 * 1024 * 1024}\r\n"
            "Connection: close\r\n\r\n")
    doc = _json_error(_raw(proxy.port, head.encode()), 413)
    assert "32 MiB" in doc["error"]
    assert re.fullmatch(r"[0-9a-f]{32}", doc["request_id"])


def test_too_many_logins_from_one_address_get_json_429(proxy):
    """Login attempts: a burst of 10, then one a second per address (other addresses unaffected)."""
    post = (f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\n"
            "username=x&password=y").encode()
    answers = [_raw(proxy.port, post, source="127.0.0.5") for _ in range(14)]
    limited = [a for a in answers if a.startswith(b"HTTP/1.1 429")]
    assert limited, [a[:12] for a in answers]
    assert b"\r\nRetry-After: 1\r\n" in limited[0]
    assert "Too many" in _json_error(limited[0], 429)["error"]
    assert requests.get(f"{proxy.url}/login", timeout=10).status_code == 200


def test_too_many_open_requests_from_one_address_get_json_429(proxy):
    """64 requests still sending their bodies from one address; the 65th is refused at once."""
    with slow_clients(proxy.port, count=64, source="127.0.0.4", kinds=("body",)):
        head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nConnection: close\r\n\r\n"
        doc = _json_error(_raw(proxy.port, head.encode(), source="127.0.0.4"), 429)
    assert "Too many" in doc["error"]


def test_a_podium_that_is_down_gets_json_502(tmp_path):
    with nginx(tmp_path, [f"127.0.0.1:{free_port()}"]) as dead:
        r = requests.get(f"{dead.url}/api/v1/models/iris", timeout=10, headers={"X-Request-ID": "trace-1"})
    assert r.status_code == 502
    assert r.json() == {"error": r.json()["error"], "request_id": "trace-1"}
    assert "not reachable" in r.json()["error"]
    assert r.headers["X-Request-ID"] == "trace-1"


def test_a_form_post_on_a_non_default_port_passes_the_origin_check(proxy):
    """The browser's Origin carries the port; nginx passes the Host with it, so the pages accept it."""
    with requests.Session() as browser:
        token = csrf(browser.get(f"{proxy.url}/login", timeout=10).text)
        r = browser.post(f"{proxy.url}/login", allow_redirects=False, timeout=10,
                         data={"csrf_token": token, "username": USER[0], "password": USER[1]},
                         headers={"Origin": proxy.url, "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 302, r.text[:500]
        assert "Logged in as" in browser.get(f"{proxy.url}/", timeout=10).text


def test_request_ids_are_kept_when_well_formed_and_replaced_otherwise(proxy):
    mine = requests.get(f"{proxy.url}/healthz", headers={"X-Request-ID": "client-42.a:b"}, timeout=10)
    assert mine.headers["X-Request-ID"] == "client-42.a:b"
    for forged in ("bad id with spaces", "x" * 200, None):
        headers = {"X-Request-ID": forged} if forged else {}
        r = requests.get(f"{proxy.url}/healthz", headers=headers, timeout=10)
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"]), r.headers  # one header, not two


def test_forwarded_headers_from_clients_are_overwritten(proxy):
    """A client cannot pick the host Podium builds URLs from, nor dodge the login lockout."""
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    page = requests.get(f"{proxy.url}/api-docs", headers=forged, timeout=10).text
    assert f"http://127.0.0.1:{proxy.port}/" in page
    assert "evil.example" not in page
    for i in range(3):  # PODIUM_AUTH_MAX_FAILURES=3, each failure from a "new" address
        requests.get(f"{proxy.url}/api/stats", auth=(ADMIN[0], "wrong-password"), timeout=10,
                     headers={"X-Forwarded-For": f"10.0.0.{i}"})
    r = requests.get(f"{proxy.url}/api/stats", auth=ADMIN, headers={"X-Forwarded-For": "10.9.9.9"},
                     timeout=10)
    assert r.status_code == 429
    assert "Too many failed logins" in r.json()["error"]


def test_static_files_are_served_by_nginx(proxy):
    r = requests.get(f"{proxy.url}/static/podium.css", timeout=10)
    assert r.status_code == 200
    assert r.content == (ROOT / "static" / "podium.css").read_bytes()
    assert r.headers["Server"] == "nginx"
    assert "Cache-Control" in r.headers
    assert "Content-Security-Policy" not in r.headers  # Podium adds it to everything it answers
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{proxy.url}/static/missing.css", timeout=10).status_code == 404


def test_metrics_are_not_served_to_the_outside(proxy, podium):
    r = requests.get(f"{proxy.url}/metrics", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"] == "Not found"
    assert requests.get(f"{podium.url}/metrics", timeout=10).status_code == 200  # Prometheus' way in


def test_the_shipped_example_site_passes_nginx_t(tmp_path):
    """deploy/nginx/podium/{site,upstream}.conf as an operator copies them beside podium.conf."""
    from tests.support.nginx import check, write_config

    main = write_config(tmp_path, ["127.0.0.1:8000"], free_port())
    for name in ("site.conf", "upstream.conf"):
        shutil.copy(ROOT / "deploy" / "nginx" / "podium" / name, tmp_path / "podium" / name)
    run = check(main)
    assert run.returncode == 0, run.stderr

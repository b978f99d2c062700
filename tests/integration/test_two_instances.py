"""Two Podium instances are one service: two real gunicorn servers over one store folder, one shared
instance folder and one PostgreSQL, behind one real nginx (the shipped configuration) on loopback.

A person logged in on one instance is logged in on the other; a user added once exists on both; a
version published, labelled or rolled back through one is served by the other within the poll
interval; both write one prediction log and one audit log; a CSV job made on one is followed and
downloaded on the other.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.cluster import cluster
from tests.support.nginx import binary
from tests.support.pages import csrf
from tests.support.server import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    binary() is None, reason="nginx is not installed: scripts/install-services")]
REPO = "/api/v2/repository/models/iris"
ROW = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
POLL = 0.5  # PODIUM_POLL_INTERVAL of both instances (the test helper's)


@pytest.fixture(scope="module")
def service(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("two-instances")
    store = root / "store"  # a private copy: versions are published into it
    shutil.copytree(demo_store / "iris", store / "iris")
    with cluster(root, store, {"admin": ADMIN, "user": USER}) as group:
        yield group


def _urls(service) -> tuple[str, str]:
    return service.servers[0].url, service.servers[1].url


def _version(url: str) -> str:
    r = requests.post(f"{url}/api/v1/models/iris:predict", json=ROW, auth=USER, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["X-Model-Version"]


def _said(html: str) -> list[str]:
    """The paragraphs of an error page (what it tells the person)."""
    return re.findall(r"<p[^>]*>(.*?)</p>", html)[:4]


def _until(condition, what: str, timeout: float = 60.0, every: float = 0.02) -> float:
    """Seconds until `condition()` holds; fails the test after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout}s")


def test_nginx_sends_requests_to_both_instances(service):
    pids = [requests.get(f"{service.proxy.url}/api/stats", auth=ADMIN, timeout=10).json()["process"]["pid"]
            for _ in range(10)]
    assert {service.instance_of(pid) for pid in pids} == {0, 1}


def test_a_login_on_one_instance_holds_on_the_other(service):
    """The session cookie and the form tokens A signs are accepted by B (cookies ignore the port)."""
    a, b = _urls(service)
    me = f"<span>{USER[0]} (user)</span>"
    with requests.Session() as browser:
        token = csrf(browser.get(f"{a}/login", timeout=10).text)
        r = browser.post(f"{a}/login", data={"csrf_token": token, "username": USER[0],
                                             "password": USER[1]}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, _said(r.text)
        assert me in browser.get(f"{b}/", timeout=10).text
        token = csrf(browser.get(f"{a}/", timeout=10).text)
        r = browser.post(f"{b}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, _said(r.text)
        assert me not in browser.get(f"{a}/", timeout=10).text
    # and through nginx, whichever instance answers, every page sees the same person
    with requests.Session() as browser:
        token = csrf(browser.get(f"{service.proxy.url}/login", timeout=10).text)
        browser.post(f"{service.proxy.url}/login", timeout=10, headers={"Origin": service.proxy.url},
                     data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
        answers = [browser.get(f"{service.proxy.url}/admin", timeout=10) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 6
    assert all(r.url.endswith("/admin") for r in answers)


def test_a_user_added_once_exists_on_both(service):
    env = {**os.environ, **service.environment(), "PODIUM_MODEL_STORE": str(service.store)}
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "users", "add", "dora",
                          "--role", "user", "--password", "dora-password"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    for url in _urls(service):
        r = requests.get(f"{url}/api/v1/models/iris", auth=("dora", "dora-password"), timeout=10)
        assert r.status_code == 200, r.text


def test_a_version_published_through_one_is_served_by_the_other(service, demo_store):
    a, b = _urls(service)
    files = {"manifest": (demo_store / "iris" / "1" / "model.json").read_bytes(),
             "artifact": (demo_store / "iris" / "1" / "model.skops").read_bytes()}
    started = time.monotonic()
    r = requests.post(f"{a}{REPO}/versions", files=files, auth=ADMIN, timeout=180)
    assert r.status_code == 201, r.text
    published = time.monotonic()
    reached = _until(lambda: _version(b) == "3", "version 3 served by instance B")
    print(f"\npublish through A answered in {published - started:.2f}s; served by B "
          f"{reached:.2f}s later (poll interval {POLL}s)")
    assert reached < POLL + 10  # a scan, a load and a warm-up on a shared 2-core machine

    r = requests.put(f"{b}{REPO}/labels/canary", json={"version": 2}, auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    _until(lambda: requests.get(f"{a}{REPO}/lifecycle", auth=ADMIN, timeout=10).json()
           .get("labels", {}).get("canary") == 2, "the label on instance A")
    r = requests.post(f"{b}{REPO}/rollback", auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    back = _until(lambda: _version(a) == "2", "the rollback served by instance A")
    print(f"rollback through B served by A {back:.2f}s later")

    # one audit log (the store's): each change once, whichever instance made it or is asked
    for url in (a, b):
        entries = requests.get(f"{url}/api/v2/repository/audit", auth=ADMIN, timeout=10).json()["entries"]
        actions = [e["action"] for e in entries if e["model"] == "iris" and e["user"] == ADMIN[0]]
        assert actions[:3] == ["rollback", "set_label", "publish"], entries[:5]


def test_both_instances_write_one_prediction_log(service):
    a, b = _urls(service)
    sent = {}
    for name, url in (("a", a), ("b", b)):
        for i in range(5):
            rid = f"two-{name}-{i}"
            r = requests.post(f"{url}/api/v1/models/iris:predict", json=ROW, auth=USER, timeout=30,
                              headers={"X-Request-ID": rid})
            assert r.status_code == 200
            sent[rid] = r.headers["X-Podium-Request-ID"]

    def logged(url: str) -> set[str]:
        r = requests.get(f"{url}/api/v2/models/iris/log", auth=ADMIN, timeout=30)
        if r.status_code == 404 and "has nothing for" in r.text:  # the writers' first round is to come
            return set()
        assert r.status_code == 200, r.text
        return {row["client_request_id"] for row in csv.DictReader(io.StringIO(r.text))}

    _until(lambda: set(sent) <= logged(a), "B's predictions in the log A reads", every=0.3)
    assert set(sent) <= logged(b)


def test_a_csv_job_made_on_one_is_followed_and_downloaded_on_the_other(service):
    a, b = _urls(service)
    rows = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n" + \
        "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    with requests.Session() as browser:
        token = csrf(browser.get(f"{a}/models/iris", timeout=10).text)
        r = browser.post(f"{a}/models/iris/batch", allow_redirects=False, timeout=30,
                         data={"csrf_token": token}, files={"csv": ("in.csv", rows.encode())})
    assert r.status_code == 303, r.text[:500]
    job = r.headers["Location"]
    _until(lambda: requests.get(f"{b}{job}/progress", timeout=10).json()["state"] == "done",
           "the job done, as B reports it", every=0.1)
    scored = list(csv.DictReader(io.StringIO(requests.get(f"{b}{job}/scored.csv", timeout=10).text)))
    assert len(scored) == 2


def test_failed_logins_on_both_instances_add_up_to_one_lockout(service):
    from webapp.accounts.users import UserStore

    UserStore(service.shared / "users.json").add("gina", "gina-password", "user")
    a, b = _urls(service)
    for i in range(10):  # PODIUM_AUTH_MAX_FAILURES' default, half on each instance
        r = requests.get(f"{(a, b)[i % 2]}/api/v1/models/iris", auth=("gina", "wrong"), timeout=10)
        assert r.status_code == 401, r.text
    for url in (a, b):
        r = requests.get(f"{url}/api/v1/models/iris", auth=("gina", "gina-password"), timeout=10)
        assert r.status_code == 429, r.text
        assert "Too many failed logins" in r.json()["error"]

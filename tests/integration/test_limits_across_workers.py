"""Rate limits and daily quotas through real gunicorn servers counting in one real redis-server: a
client's requests spread over both workers (or both instances) spend one allowance, the answer
over it is a 429 in the protocol's error format with Retry-After and RateLimit-* headers, and the
client is served again once its window moves on (a rate limit) or an operator raises its quota and
restarts (a daily quota: the count outlives the restart, the client gets the difference)."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.helpers import IRIS_ROW
from tests.support.redis import redis_server
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration
USERS = {"admin": ADMIN, "user": USER}
WINDOW = 5  # seconds of bob's moving window: long enough for a burst of a dozen, short to wait out
# keep-alive outlives the wait for the window, so each session stays on the worker it was pinned to
KEEP = {"PODIUM_KEEPALIVE": "60"}


@pytest.fixture
def iris_store(demo_store, tmp_path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(demo_store / "iris", store / "iris")
    return store


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def pinned_sessions(url: str, count: int = 2, tries: int = 40) -> list[requests.Session]:
    """Keep-alive sessions as bob, each held by a different worker (told apart by the pid that
    /api/stats reports to alice, whose own allowance is not limited here)."""
    by_pid: dict[int, requests.Session] = {}
    for _ in range(tries):
        session = requests.Session()
        pid = session.get(f"{url}/api/stats", auth=ADMIN, timeout=30).json()["process"]["pid"]
        if pid in by_pid:
            session.close()
            continue
        session.auth = USER
        by_pid[pid] = session
        if len(by_pid) == count:
            return list(by_pid.values())
    raise AssertionError(f"only {len(by_pid)} of {count} workers took a connection in {tries} tries")


def predict(session: requests.Session, url: str, rows: int = 1, v2: bool = False) -> requests.Response:
    if v2:
        tensor = {"name": "input", "shape": [rows, 4], "datatype": "FP32", "data": IRIS_ROW * rows}
        return session.post(f"{url}/api/v2/models/iris/infer", json={"inputs": [tensor]}, timeout=30)
    body = {"instances": [IRIS_ROW] * rows}
    return session.post(f"{url}/api/v1/models/iris:predict", json=body, timeout=30)


def assert_refused(answer: requests.Response, *words: str) -> int:
    """A 429 with the protocol's {"error": ...} naming the limit; returns its Retry-After."""
    assert answer.status_code == 429, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"].startswith("application/json")
    message = answer.json()["error"]
    for word in words:
        assert word in message.lower(), message
    return int(answer.headers["Retry-After"])


def test_a_rate_limit_is_one_for_both_workers_and_frees_up_as_its_window_moves(iris_store, tmp_path,
                                                                               redis_url):
    limits = {"PODIUM_RATE_LIMITS": json.dumps({"bob": f"10/{WINDOW} seconds"}),
              "PODIUM_RATE_LIMIT_STORAGE_URL": redis_url}
    with gunicorn(iris_store, tmp_path / "instance", USERS, workers=2, **limits, **KEEP) as server:
        first, second = pinned_sessions(server.url)
        answers = [predict((first, second)[n % 2], server.url, v2=n % 4 == 3) for n in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        assert [a.headers["RateLimit-Remaining"] for a in answers] == [str(9 - n) for n in range(10)]
        assert {a.headers["RateLimit-Limit"] for a in answers} == {"10"}
        # each worker saw five: the eleventh is refused by both, in either protocol
        for refused in (predict(first, server.url), predict(second, server.url, v2=True)):
            retry = assert_refused(refused, "rate limit")
            assert 0 < retry <= WINDOW
            assert refused.headers["RateLimit-Remaining"] == "0"
        time.sleep(retry + 0.2)  # the oldest requests have left the window
        assert predict(second, server.url).status_code == 200
        assert server.process.poll() is None


@contextlib.contextmanager
def quota_server(store: Path, instance: Path, redis_url: str, rows: int):
    with gunicorn(store, instance, USERS, workers=2, PODIUM_QUOTAS=json.dumps({"bob": rows}),
                  PODIUM_RATE_LIMIT_STORAGE_URL=redis_url, **KEEP) as server:
        yield server


def test_a_daily_quota_is_one_for_both_workers_and_a_raise_gives_the_difference(iris_store, tmp_path,
                                                                                 redis_url):
    instance = tmp_path / "instance"
    with quota_server(iris_store, instance, redis_url, rows=6) as server:
        first, second = pinned_sessions(server.url)
        assert [predict(s, server.url, rows=2).status_code for s in (first, second, first)] == [200] * 3
        for session in (second, first):  # six rows spent over both workers: both refuse
            retry = assert_refused(predict(session, server.url), "daily quota", "6 rows")
            assert 3600 < retry <= 86400
    # the operator raises bob's quota to 10 and restarts: the day's 6 rows still count
    with quota_server(iris_store, instance, redis_url, rows=10) as server:
        first, second = pinned_sessions(server.url)
        assert [predict(s, server.url, rows=2).status_code for s in (first, second)] == [200, 200]
        assert_refused(predict(first, server.url), "daily quota", "10 rows")


def test_two_instances_on_one_redis_enforce_one_limit(iris_store, tmp_path, redis_url):
    limits = {"PODIUM_RATE_LIMIT": "8/minute", "PODIUM_RATE_LIMIT_STORAGE_URL": redis_url}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(gunicorn(iris_store, tmp_path / f"instance{n}", USERS, workers=2,
                                                **limits, **KEEP)) for n in (1, 2)]
        sessions = [pinned_sessions(server.url, count=1)[0] for server in servers]
        statuses = [predict(sessions[n % 2], servers[n % 2].url).status_code for n in range(8)]
        assert statuses == [200] * 8
        for session, server in zip(sessions, servers, strict=True):
            assert_refused(predict(session, server.url), "rate limit")

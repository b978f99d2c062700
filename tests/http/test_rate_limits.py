"""Per-client rate limits: each user or token its own window, 429 with Retry-After and the
protocol's error body, RateLimit-* headers on every answer, probes never limited, and one limit
shared by two instances through a real redis-server."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from tests.conftest import make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error
from tests.support.redis import redis_server
from webapp.http.ratelimit import counts_storage

PREDICT = "/api/v1/models/iris:predict"
BODY = {"instances": [IRIS_ROW]}


def test_a_client_over_its_limit_gets_429_and_others_do_not(model_store, tmp_path, user_headers,
                                                           admin_headers):
    app = make_app(model_store, tmp_path / "i", RATE_LIMIT="3/minute", RATE_LIMITS={"alice": "5/minute"})
    client = app.test_client()
    answers = [client.post(PREDICT, json=BODY, headers=user_headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    refused = answers[3]
    assert_clean_error(refused, 429, "rate limit")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    v2 = client.post("/api/v2/models/iris/infer", headers=user_headers, json={
        "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]})
    assert_clean_error(v2, 429, "rate limit")  # one window for the client, whatever the protocol
    # another client (alice, with her own override) and the probes are untouched
    assert [client.get("/api/v1/models/iris", headers=admin_headers).status_code
            for _ in range(5)] == [200] * 5
    assert client.get("/api/v1/models/iris", headers=admin_headers).status_code == 429
    for probe in ("/healthz", "/readyz", "/api/v2/health/ready", "/metrics"):
        assert all(client.get(probe).status_code == 200 for _ in range(6)), probe


def test_each_token_has_its_own_window(model_store, tmp_path, user_headers):
    app = make_app(model_store, tmp_path / "i", RATE_LIMIT="2/minute")
    client = app.test_client()
    tokens = app.extensions["podium.tokens"]
    first, second = (tokens.create("bob", name)[0] for name in ("a", "b"))
    for secret in (first, second):
        bearer = {"Authorization": f"Bearer {secret}"}
        assert [client.post(PREDICT, json=BODY, headers=bearer).status_code
                for _ in range(3)] == [200, 200, 429]


def test_no_limit_configured_means_no_headers(client, user_headers):
    r = client.post(PREDICT, json=BODY, headers=user_headers)
    assert r.status_code == 200
    assert "RateLimit-Limit" not in r.headers


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path) as url:
        yield url


def test_two_instances_share_one_limit_through_redis(model_store, tmp_path, user_headers, redis_url):
    apps = [make_app(model_store, tmp_path / f"i{n}", RATE_LIMIT="4/minute",
                     RATE_LIMIT_STORAGE_URL=redis_url).test_client() for n in (1, 2)]
    statuses = [apps[n % 2].post(PREDICT, json=BODY, headers=user_headers).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]





class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def warned_at_start(workers: int, storage_url: str) -> list[str]:
    """What a worker logs as it makes its counts' storage (create_app's logging setup would drop a
    handler added before it, hence a bare app)."""
    app = Flask(__name__)
    app.config.update(SERVER_WORKERS=workers, RATE_LIMIT_STORAGE_URL=storage_url)
    kept, logger = Kept(), logging.getLogger("webapp.http.ratelimit")
    logger.addHandler(kept)
    try:
        counts_storage(app)
    finally:
        logger.removeHandler(kept)
    return [record.getMessage() for record in kept.records]


def test_a_server_of_several_workers_says_when_each_counts_on_its_own(redis_url):
    assert warned_at_start(1, "memory://") == []
    assert warned_at_start(4, redis_url) == []  # counts shared: nothing to say
    [said] = warned_at_start(4, "memory://")
    assert "each worker's memory" in said
    assert "up to 4 times its limit" in said
    assert "PODIUM_RATE_LIMIT_STORAGE_URL" in said


def test_while_redis_is_away_requests_are_served_uncounted(model_store, tmp_path, user_headers,
                                                           admin_headers):
    with redis_server(tmp_path) as url:
        app = make_app(model_store, tmp_path / "i", RATE_LIMIT="2/minute", QUOTA_ROWS_PER_DAY=1,
                       RATE_LIMIT_STORAGE_URL=url)
        client = app.test_client()
        assert client.post(PREDICT, json=BODY, headers=user_headers).status_code == 200
        assert client.post(PREDICT, json=BODY, headers=user_headers).status_code == 429  # quota spent
    # redis-server stopped: neither a 500 nor a refusal, and no RateLimit figures it cannot know
    answers = [client.post(PREDICT, json=BODY, headers=user_headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert "RateLimit-Remaining" not in answers[0].headers
    assert client.get("/api/v1/models/iris", headers=admin_headers).status_code == 200

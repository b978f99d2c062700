"""Daily quotas of rows or images per client: spent by the rows answered, 429 with Retry-After and
the protocol's error body once spent, each token its own, shown on the admin page, counted in
/metrics by kind, and one quota shared by two instances through a real redis-server."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, make_app
from tests.http.test_metrics import sample
from tests.support.helpers import IRIS_ROW, assert_clean_error
from tests.support.pages import csrf
from tests.support.redis import redis_server

PREDICT = "/api/v1/models/iris:predict"
INFER = "/api/v2/models/iris/infer"


def rows(n: int) -> dict:
    return {"instances": [IRIS_ROW] * n}


def test_a_client_over_its_daily_rows_gets_429_until_the_day_renews(model_store, tmp_path, user_headers,
                                                                    admin_headers):
    app = make_app(model_store, tmp_path / "i", QUOTA_ROWS_PER_DAY=5, QUOTAS={"alice": 0})
    client = app.test_client()
    assert client.post(PREDICT, json=rows(3), headers=user_headers).status_code == 200
    assert client.post(PREDICT, json=rows(2), headers=user_headers).status_code == 200
    refused = client.post(PREDICT, json=rows(1), headers=user_headers)
    assert_clean_error(refused, 429, "daily quota", "5 rows")
    assert 3600 < int(refused.headers["Retry-After"]) <= 86400
    v2 = client.post(INFER, headers=user_headers, json={
        "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]})
    assert_clean_error(v2, 429, "daily quota")  # one quota for the client, whatever the protocol
    # alice has no quota (0 overrides the default)
    assert [client.post(PREDICT, json=rows(50), headers=admin_headers).status_code
            for _ in range(3)] == [200] * 3
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "podium_rate_limited_total", kind="quota") >= 2


def test_a_bad_request_spends_no_rows(model_store, tmp_path, user_headers):
    client = make_app(model_store, tmp_path / "i", QUOTA_ROWS_PER_DAY=2).test_client()
    for _ in range(3):
        assert client.post(PREDICT, json={"instances": [[1, 2]]}, headers=user_headers).status_code == 400
    assert client.post(PREDICT, json=rows(2), headers=user_headers).status_code == 200
    assert client.post(PREDICT, json=rows(1), headers=user_headers).status_code == 429


def test_images_count_one_each_and_tokens_have_their_own_quota(model_store, tmp_path, user_headers):
    app = make_app(model_store, tmp_path / "i", QUOTA_ROWS_PER_DAY=2)
    client = app.test_client()
    secret = app.extensions["podium.tokens"].create("bob", "nightly")[0]
    image = [[0.0] * 8] * 8
    digits = "/api/v1/models/digits:predict"
    assert client.post(digits, json={"instances": [image, image]}, headers=user_headers).status_code == 200
    assert client.post(digits, json={"instances": [image]}, headers=user_headers).status_code == 429
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.post(digits, json={"instances": [image]}, headers=bearer).status_code == 200


def test_the_admin_page_shows_each_users_limits_and_use(model_store, tmp_path, user_headers):
    app = make_app(model_store, tmp_path / "i", QUOTA_ROWS_PER_DAY=10, RATE_LIMIT="100/minute",
                   RATE_LIMITS={"bob": "7/minute"})
    client = app.test_client()
    assert client.post(PREDICT, json=rows(4), headers=user_headers).status_code == 200
    token = csrf(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    html = client.get("/admin").text
    assert "Rate limits and daily quotas" in html
    bob = html[html.index("<td>bob</td>"):].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in bob.split("<td>")[1:]] == ["bob", "7 per 1 minute", "6", "10", "4"]


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path) as url:
        yield url


def test_two_instances_share_one_quota_through_redis(model_store, tmp_path, user_headers, redis_url):
    apps = [make_app(model_store, tmp_path / f"i{n}", QUOTA_ROWS_PER_DAY=4,
                     RATE_LIMIT_STORAGE_URL=redis_url).test_client() for n in (1, 2)]
    statuses = [apps[n % 2].post(PREDICT, json=rows(1), headers=user_headers).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]

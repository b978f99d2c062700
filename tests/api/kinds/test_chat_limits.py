"""`/openai/v1` is behind the same per-client limits as `/api/v1` and `/api/v2`: one rate window per
user or token across the three, a chat call spends one row of the daily quota, a read-only token
may not chat, and every refusal is in OpenAI's error format with Retry-After and RateLimit-*."""

from __future__ import annotations

from tests.conftest import USER, make_app

CHAT = "/openai/v1/chat/completions"
BODY = {"model": "helpdesk", "max_tokens": 5, "messages": [{"role": "user", "content": "How to roll back?"}]}
RECOMMEND = "/api/v1/models/movies:predict"


def openai_error(response, status: int, error_type: str, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert (error["type"], error["code"], error["param"]) == (error_type, code, None)
    return error["message"]


def test_chat_calls_share_the_clients_rate_window_with_the_other_apis(kinds_store, tmp_path, user_headers,
                                                                   admin_headers):
    client = make_app(kinds_store, tmp_path / "i", RATE_LIMIT="3/minute").test_client()
    answers = [client.post(CHAT, json=BODY, headers=user_headers) for _ in range(2)]
    answers.append(client.post(RECOMMEND, json={"instances": ["u0001"]}, headers=user_headers))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    refused = client.post(CHAT, json=BODY, headers=user_headers)
    assert "Rate limit exceeded" in openai_error(refused, 429, "requests", "rate_limit_exceeded")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert "x-should-retry" not in refused.headers  # the client may retry after Retry-After
    assert client.post(CHAT, json=BODY, headers=admin_headers).status_code == 200  # alice: her own window
    assert 'podium_rate_limited_total{kind="rate"}' in client.get("/metrics").get_data(as_text=True)


def test_an_api_token_chats_in_its_own_window_and_a_read_token_may_not_chat(kinds_store, tmp_path):
    app = make_app(kinds_store, tmp_path / "i", RATE_LIMIT="2/minute")
    client, tokens = app.test_client(), app.extensions["podium.tokens"]
    secret = tokens.create(USER[0], "chat")[0]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert [client.post(CHAT, json=BODY, headers=bearer).status_code for _ in range(2)] == [200, 200]
    openai_error(client.post(CHAT, json=BODY, headers=bearer), 429, "requests", "rate_limit_exceeded")
    reader = {"Authorization": f"Bearer {tokens.create(USER[0], 'reader', scope='read')[0]}"}
    assert "scope is read" in openai_error(client.post(CHAT, json=BODY, headers=reader), 403,
                                           "permission_error", "insufficient_scope")
    assert client.get("/openai/v1/models", headers=reader).status_code == 200


def test_a_chat_call_spends_one_row_of_the_daily_quota(kinds_store, tmp_path, user_headers):
    client = make_app(kinds_store, tmp_path / "i", QUOTAS={USER[0]: 3}).test_client()
    streamed = client.post(CHAT, json={**BODY, "stream": True}, headers=user_headers)
    assert streamed.status_code == 200
    assert streamed.get_data().endswith(b"data: [DONE]\n\n")
    assert client.post(CHAT, json={**BODY, "max_tokens": 500}, headers=user_headers).status_code == 200
    assert client.post(CHAT, json={**BODY, "model": "movies"}, headers=user_headers).status_code == 400
    assert client.post(CHAT, json=BODY, headers=user_headers).status_code == 200  # the bad call spent none
    refused = client.post(CHAT, json=BODY, headers=user_headers)
    assert "Daily quota exceeded (3 rows" in openai_error(refused, 429, "insufficient_quota",
                                                          "insufficient_quota")
    assert refused.headers["x-should-retry"] == "false"  # no point before the day renews
    assert 60 < int(refused.headers["Retry-After"]) <= 86400

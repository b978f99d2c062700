"""The recommender page with the Flask test client (plain GETs, no JavaScript), what the home page
and the API page say about both kinds, and a recommender's CSV jobs. The chat page: test_chat_page.py."""

from __future__ import annotations

import re

import pytest

from tests.api.kinds.conftest import kinds_app, kinds_store  # noqa: F401  (the fixtures)
from tests.conftest import USER, basic
from tests.support.pages import accessibility_problems, csrf


@pytest.fixture
def pages(kinds_app):  # noqa: F811
    return kinds_app.test_client()


def test_home_lists_both_and_their_model_pages_lead_to_their_own(pages):
    html = pages.get("/").text
    assert 'href="/models/movies"' in html
    assert 'href="/models/helpdesk"' in html
    assert "recommendation" in html
    assert "chat" in html
    assert pages.get("/models/movies").headers["Location"] == "/recommend/movies"
    assert pages.get("/models/helpdesk").headers["Location"] == "/chat/helpdesk"


def test_a_user_shows_their_history_and_recommendations_with_scores(pages):
    response = pages.get("/recommend/movies?user=u0042&k=5")
    assert response.status_code == 200
    html = response.text
    recommended = re.findall(r'<a href="\?item=(i\d+)">similar</a>', html.split("data-history")[0])
    rated = re.findall(r'<a href="\?item=(i\d+)">similar</a>', html.split("data-history")[1])
    assert len(recommended) == 5
    assert rated
    assert not set(recommended) & set(rated)
    assert "Recommended for u0042" in html
    assert "Held-out metrics" in html
    assert "most popular" in html
    assert accessibility_problems(html) == []


def test_an_unknown_user_gets_popular_films_and_an_item_its_similar_ones(pages):
    html = pages.get("/recommend/movies?user=someone-new").text
    assert "Popular films (unknown user someone-new)" in html
    assert "Nothing yet" in html
    html = pages.get("/recommend/movies?item=i010&k=3").text
    assert "Similar to i010" in html
    assert len(re.findall(r'<a href="\?item=(i\d+)">similar</a>', html)) == 3


@pytest.mark.parametrize(("query", "words"), [
    ("item=nope", "Unknown item ids"), ("user=u0042&k=0", "k must be"), ("user=u0042&k=lots", "k must be")])
def test_bad_picks_say_what_is_wrong(pages, query, words):
    response = pages.get(f"/recommend/movies?{query}")
    assert response.status_code == 400
    assert words in response.text


def test_the_api_page_shows_how_to_call_both(pages):
    html = pages.get("/api-docs").text
    assert "/api/v1/models/movies:predict" in html
    assert "/openai/v1/chat/completions" in html
    assert "api_key=USER:PASSWORD" in html


def test_a_csv_of_users_gets_top_k_columns(pages):
    import csv
    import io
    import time

    token = csrf(pages.get("/recommend/movies").text)
    upload = io.BytesIO(b"user,note\nu0042,a\nnewcomer,b\n,c\n")
    response = pages.post("/models/movies/batch", data={"csrf_token": token, "csv": (upload, "users.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 303
    job = response.headers["Location"]
    for _ in range(100):
        if pages.get(job + "/progress").get_json()["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    with pages.get(job + "/scored.csv") as scored:
        rows = list(csv.DictReader(io.StringIO(scored.text)))
    api = pages.post("/api/v1/models/movies:predict", json={"instances": ["u0042"]}, headers=basic(USER))
    assert [rows[0][f"item_{i}"] for i in range(1, 11)] == api.get_json()["predictions"][0]["items"]
    assert rows[0]["note"] == "a"
    assert rows[1]["item_1"]
    assert rows[2]["error"] == "line 4: no value for 'user'"


def test_a_csv_without_a_user_column_is_explained_on_the_recommender_page(pages):
    import io

    token = csrf(pages.get("/recommend/movies").text)
    response = pages.post("/models/movies/batch", content_type="multipart/form-data",
                          data={"csrf_token": token, "csv": (io.BytesIO(b"who\nu0042\n"), "users.csv")})
    assert response.status_code == 400
    assert 'id="csv-error"' in response.text
    assert "The CSV header lacks &#39;user&#39;" in response.text
    response = pages.post("/models/helpdesk/batch", content_type="multipart/form-data",
                          data={"csrf_token": token, "csv": (io.BytesIO(b"q\nhi\n"), "q.csv")})
    assert response.status_code == 400

"""The recommender and chat pages with the Flask test client: plain GETs and form posts (no JavaScript),
CSRF on the chat's posts, sources that link to the document section they came from."""

from __future__ import annotations

import json
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


def ask(pages, html, message, **extra):
    form = {"csrf_token": csrf(html), "conversation": _conversation(html), "message": message,
            "temperature": "0.7", "system": "", **extra}
    return pages.post("/chat/helpdesk", data=form)


def _conversation(html):
    raw = re.search(r'name="conversation" value="([^"]*)"', html).group(1)
    return raw.replace("&#34;", '"').replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&#39;", "'").replace("&amp;", "&")


def test_a_conversation_runs_on_plain_form_posts_and_links_its_source(pages):
    first = pages.get("/chat/helpdesk")
    assert accessibility_problems(first.text) == []
    answered = ask(pages, first.text, "How do I roll back to the previous version?",
                   system="You are Podium's helpdesk.")
    assert answered.status_code == 200
    links = re.findall(r'href="(/source/[^"]+)" data-source', answered.text)
    assert links
    assert links[0].startswith("/source/docs/lifecycle.md#")
    assert "Tokens:" in answered.text
    again = ask(pages, answered.text, "and how do I undo it?")
    turns = json.loads(_conversation(again.text))
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    doc, anchor = links[0].split("#")
    assert f'id="{anchor}"' in pages.get(doc).text


def test_the_chat_refuses_posts_without_the_token_and_bad_settings(pages):
    assert pages.post("/chat/helpdesk", data={"message": "hello"}).status_code == 400
    html = pages.get("/chat/helpdesk").text
    response = ask(pages, html, "hello", temperature="hot")
    assert response.status_code == 400
    assert "Temperature must be a number" in response.text
    assert pages.get("/source/../../etc/passwd").status_code == 404
    assert pages.get("/source/pyproject.toml").status_code == 404


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

"""The pages through Flask's test client: forms, predictions, CSRF, origins, escaping, errors, a11y."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.support.helpers import version_files
from tests.support.pages import accessibility_problems, csrf, digit_png
from webapp.serving.models.store import ModelStore

IRIS_ROW = {"sepal length (cm)": "5.1", "sepal width (cm)": "3.5", "petal length (cm)": "1.4",
            "petal width (cm)": "0.2"}


def top(html: str) -> str:
    match = re.search(r"data-top>([^<]+)<", html)
    assert match, html[-1500:]
    return match.group(1)


def alert(html: str) -> str:
    match = re.search(r'role="alert"[^>]*>([^<]+)<', html)
    assert match, html[-1500:]
    return match.group(1)


def login(client, user=ADMIN):
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": user[0], "password": user[1]})
    assert response.status_code == 302, response.text
    return response


def test_home_lists_every_model_with_its_facts(client):
    html = client.get("/").text
    for name in ("iris", "diabetes", "digits", "wine", "movies", "helpdesk"):
        assert f'href="/models/{name}"' in html
    assert "sklearn" in html
    assert "keras" in html
    assert "regression" in html
    assert "1, 2" in html
    assert "Iris species from sepal and petal measurements" in html
    assert 'id="model-filter"' in html  # the filter box (shown by JS)


@pytest.mark.parametrize("name", ["iris", "diabetes", "digits", "wine"])
def test_every_model_page_renders_with_a_try_panel(client, name):
    response = client.get(f"/models/{name}")
    assert response.status_code == 200
    assert "Try it" in response.text
    assert "Held-out metrics" in response.text
    if name == "digits":
        assert 'type="file"' in response.text
        assert "data-drawing" in response.text
    else:
        assert "Score a CSV file" in response.text
        assert "training range" in response.text


def test_iris_form_predicts_and_keeps_the_values(client):
    token = csrf(client.get("/models/iris").text)
    response = client.post("/models/iris/predict", data={"csrf_token": token, **IRIS_ROW})
    assert response.status_code == 200
    assert top(response.text) == "setosa"
    assert 'value="5.1"' in response.text
    assert "<meter" in response.text


@pytest.mark.parametrize(("name", "answer"), [("diabetes", r"^\d+(\.\d+)?$"), ("wine", r"^class_\d$"),
                                            ("iris", r"^(setosa|versicolor|virginica)$")])
def test_the_prefilled_form_answers_for_every_tabular_model(client, name, answer):
    """A person who only presses Predict gets an answer: the form comes filled with typical values."""
    page = client.get(f"/models/{name}").text
    token = csrf(page)
    field = r'name="([^"]+)" type="text" inputmode="decimal" required\s+value="([^"]*)"'
    values = dict(re.findall(field, page))
    assert values
    assert all(values.values())
    response = client.post(f"/models/{name}/predict", data={"csrf_token": token, **values})
    assert response.status_code == 200
    assert re.match(answer, top(response.text))


def test_version_and_label_picker(app):
    client = app.test_client()
    app.extensions["podium.lifecycle"].set_label("iris", "stable", 1, "test")
    assert "version 1" in client.get("/models/iris?label=stable").text
    token = csrf(client.get("/models/iris?version=1").text)
    response = client.post("/models/iris/predict", data={"csrf_token": token, "label": "stable", **IRIS_ROW})
    assert "(version 1)" in response.text
    assert client.get("/models/iris?version=abc").status_code == 400
    assert client.get("/models/iris?label=nope").status_code == 404


def test_a_bad_value_is_a_friendly_error_with_the_form_still_filled(client):
    token = csrf(client.get("/models/iris").text)
    response = client.post("/models/iris/predict",
                           data={"csrf_token": token, **IRIS_ROW, "petal width (cm)": "wide"})
    assert response.status_code == 400
    assert "needs a number" in alert(response.text)
    assert 'value="wide"' in response.text
    assert 'value="5.1"' in response.text


def test_digit_png_gives_the_right_class_and_shows_what_the_model_saw(client, demo_store):
    token = csrf(client.get("/models/digits").text)
    for index in range(3):
        png, label = digit_png(demo_store, index)
        response = client.post("/models/digits/predict",
                               data={"csrf_token": token, "image": (io.BytesIO(png), "digit.png")})
        assert response.status_code == 200
        assert top(response.text) == str(label)
        assert 'src="data:image/png;base64,' in response.text


def test_fetch_requests_get_only_the_result_fragment(client, demo_store):
    token = csrf(client.get("/models/digits").text)
    png, label = digit_png(demo_store, 1)
    response = client.post("/models/digits/predict", headers={"X-Podium-Fetch": "1"},
                           data={"csrf_token": token, "image": (io.BytesIO(png), "digit.png")})
    assert "<html" not in response.text
    assert top(response.text) == str(label)


@pytest.mark.parametrize(("payload", "message"), [
    (b"this is not an image", "not an image Podium can read"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "corrupt or truncated"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image Podium can read"),
])
def test_a_bad_image_is_a_friendly_error_on_the_same_page(client, payload, message):
    token = csrf(client.get("/models/digits").text)
    response = client.post("/models/digits/predict",
                           data={"csrf_token": token, "image": (io.BytesIO(payload), "x.png")})
    assert response.status_code == 400
    assert message in alert(response.text)
    assert 'id="image"' in response.text  # the form is still there


def test_a_missing_file_is_a_friendly_error(client):
    token = csrf(client.get("/models/digits").text)
    response = client.post("/models/digits/predict", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Choose an image" in alert(response.text)


def test_too_large_upload_answers_413_on_the_model_page(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "instance", MAX_CONTENT_LENGTH=50_000)
    client = app.test_client()
    token = csrf(client.get("/models/digits").text)
    response = client.post("/models/digits/predict",
                           data={"csrf_token": token, "image": (io.BytesIO(b"x" * 80_000), "big.png")})
    assert response.status_code == 413
    assert "too large" in alert(response.text)
    assert 'id="image"' in response.text


# -- CSRF and origins -------------------------------------------------------------------------
def test_post_without_csrf_token_is_refused(client):
    response = client.post("/models/iris/predict", data=IRIS_ROW)
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert "<html" in response.text  # the error page, in the layout


def test_post_with_a_forged_token_is_refused(client):
    response = client.post("/models/iris/predict", data={"csrf_token": "forged", **IRIS_ROW})
    assert response.status_code == 400


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_cross_site_posts_are_refused_even_with_a_token(client, headers):
    token = csrf(client.get("/models/iris").text)
    response = client.post("/models/iris/predict", data={"csrf_token": token, **IRIS_ROW}, headers=headers)
    assert response.status_code == 403


def test_same_origin_headers_are_accepted(client):
    token = csrf(client.get("/models/iris").text)
    response = client.post("/models/iris/predict", data={"csrf_token": token, **IRIS_ROW},
                           headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200


def test_api_routes_need_no_csrf_token(client, user_headers):
    response = client.post("/api/v1/models/iris:predict", headers=user_headers,
                           json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert response.status_code == 200


# -- escaping ---------------------------------------------------------------------------------
def test_labels_and_descriptions_with_markup_render_inert(app, model_store):
    folder = model_store / "xss" / "1"
    folder.mkdir(parents=True)
    for name, content in version_files(model_store / "iris" / "1").items():
        (folder / name).write_bytes(content)
    manifest = json.loads((folder / "model.json").read_text())
    manifest["outputs"]["labels"] = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "c"]
    manifest["description"] = "<script>alert(3)</script>"
    manifest["inputs"]["features"][0]["name"] = '"><script>alert(4)</script>'
    (folder / "model.json").write_text(json.dumps(manifest))
    # written straight into config.json: the lifecycle refuses such label names, a hand edit may not
    ModelStore(model_store).write_config("xss", {"labels": {"<b>bold</b>": 1}})
    app.extensions["podium.service"].refresh()
    client = app.test_client()
    login(client)
    pages = [client.get(url).text for url in ("/", "/models/xss", "/admin", "/ops")]
    token = csrf(pages[1])
    row = dict(zip([f["name"] for f in manifest["inputs"]["features"]], ["5.1", "3.5", "1.4", "0.2"],
                   strict=True))
    pages.append(client.post("/models/xss/predict", data={"csrf_token": token, **row}).text)
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[-1]
    assert "&lt;b&gt;bold&lt;/b&gt;" in pages[0]


# -- errors and access ------------------------------------------------------------------------
def test_error_pages_use_the_layout(client):
    for url, status in (("/no/such/page", 404), ("/models/nope", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert 'class="brand"' in response.text
        assert "<h1>" in response.text
    response = client.get("/api/v1/models/nope")
    assert response.is_json  # /api/ keeps answering JSON


def test_admin_pages_need_login_then_the_admin_role(client):
    assert client.get("/admin").headers["Location"].startswith("/login")
    login(client, USER)
    assert client.get("/admin").status_code == 403
    assert "admin role" in client.get("/admin").text


def test_wrong_password_keeps_the_name_and_says_so(client):
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert "do not match" in response.text
    assert 'value="alice"' in response.text


def test_login_redirects_only_to_local_paths(client):
    token = csrf(client.get("/login").text)
    response = client.post("/login?next=//evil.example/x", data={"csrf_token": token, "username": ADMIN[0],
                                                                 "password": ADMIN[1]})
    assert response.headers["Location"] == "/"


def test_basic_auth_also_opens_the_admin_page(client):
    assert client.get("/admin", headers=basic(ADMIN)).status_code == 200


def test_ui_require_login_closes_the_prediction_pages(demo_store, tmp_path):
    client = make_app(demo_store, tmp_path / "instance", UI_REQUIRE_LOGIN=True).test_client()
    for url in ("/", "/models/iris", "/api-docs"):
        assert client.get(url).status_code == 302
    login(client, USER)
    assert client.get("/models/iris").status_code == 200


def test_logout_needs_a_token_and_ends_the_session(client):
    login(client, USER)
    assert client.post("/logout").status_code == 400
    token = csrf(client.get("/").text)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/ops").status_code == 302


# -- ops and API pages ------------------------------------------------------------------------
def test_ops_page_and_its_json(client):
    login(client, USER)
    html = client.get("/ops").text
    assert "iris" in html
    assert "Workers" in html
    doc = client.get("/ops/stats.json").get_json()
    assert doc["answered_by"] == doc["workers"][0]["pid"]
    assert set(doc["models"]) >= {"iris", "digits"}
    assert doc["models"]["iris"]["versions"]["2"]["state"] == "AVAILABLE"


def test_api_page_uses_the_real_host_in_curl_examples(client):
    html = client.get("/api-docs", base_url="http://podium.example:8080").text
    assert "http://podium.example:8080/api/v1/models/" in html
    assert ":predict" in html
    assert "/api/v2/" in html


# -- accessibility basics ---------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/models/iris", "/models/digits", "/models/diabetes", "/login",
                                 "/api-docs", "/ops", "/admin", "/no/such/page"])
def test_pages_have_labels_alt_text_and_ordered_headings(client, url):
    login(client)
    assert accessibility_problems(client.get(url).text) == []


def test_result_panel_is_accessible(client, demo_store):
    token = csrf(client.get("/models/digits").text)
    png, _ = digit_png(demo_store)
    html = client.post("/models/digits/predict",
                       data={"csrf_token": token, "image": (io.BytesIO(png), "digit.png")}).text
    assert accessibility_problems(html) == []


def test_security_headers_forbid_inline_script(client):
    response = client.get("/models/digits")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.text
    assert " style=" not in response.text

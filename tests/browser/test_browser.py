"""What a person does in the browser: try each kind of model, score a CSV, watch ops, administer."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.util import login, shot
from tests.support.pages import digit_png
from webapp.serving.lifecycle.changes import Lifecycle

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def test_home_lists_models_and_filters_them(page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    rows = page.locator("#models-table tbody tr")
    expect(rows).to_have_count(6)  # four tensor models, the recommender and the chat
    page.get_by_label("Filter models").fill("keras image")
    expect(page.locator("#models-table tbody tr:visible")).to_have_count(1)
    expect(page.locator("#models-table tbody tr:visible th")).to_have_text("digits")
    page.get_by_label("Filter models").fill("")
    shot(page, "home")
    page.get_by_role("link", name="digits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("digits")


def test_upload_a_digit_png_and_see_the_right_class_on_top(page, browser_store):
    page.goto("/models/digits")
    for index in (0, 5):
        png, label = digit_png(browser_store, index)
        page.get_by_label("Image file").set_input_files(
            files=[{"name": "digit.png", "mimeType": "image/png", "buffer": png}])
        expect(page.locator("[data-preview]")).to_be_visible()
        page.get_by_role("button", name="Predict", exact=True).click()
        expect(page.locator("#result [data-top]")).to_have_text(str(label))
    seen = page.get_by_alt_text("The image as the model saw it after preprocessing")
    expect(seen).to_be_visible()
    assert seen.evaluate("img => img.naturalWidth") == 8
    expect(page.locator("#result meter")).to_have_count(10)
    shot(page, "model-digits-upload")


def test_draw_a_digit_on_the_canvas(page):
    page.goto("/models/digits")
    canvas = page.locator("[data-canvas]")
    expect(canvas).to_be_visible()
    page.get_by_role("button", name="Predict the drawing").click()  # nothing drawn yet
    expect(page.locator("#result [role=alert]")).to_contain_text("blank")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x, box["y"] + 30 + step * (box["height"] - 60) / 10)
    page.mouse.up()
    page.get_by_role("button", name="Predict the drawing").click()
    expect(page.locator("#result [data-top]")).to_have_text("1")
    shot(page, "model-digits-drawing")


def test_fill_the_iris_form_with_the_keyboard(page):
    page.goto("/models/iris")
    page.get_by_label("sepal length (cm)").focus()
    for value in ("6.3", "2.9", "5.6", "1.8"):
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.get_by_label("petal width (cm)").press("Enter")
    expect(page.locator("#result [data-top]")).to_have_text("virginica")
    expect(page.get_by_label("sepal length (cm)")).to_have_value("6.3")
    shot(page, "model-iris")


def test_the_iris_form_works_without_javascript(no_js_page):
    no_js_page.goto("/models/iris")
    no_js_page.get_by_label("petal length (cm)").fill("1.4")
    no_js_page.get_by_label("petal width (cm)").fill("0.2")
    no_js_page.get_by_role("button", name="Predict").click()
    expect(no_js_page.locator("#result [data-top]")).to_have_text("setosa")


def test_regression_model_answers_with_a_value(page):
    page.goto("/models/diabetes")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#result [data-top]")).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    shot(page, "model-diabetes")


def test_score_a_csv_and_download_it(page, tmp_path):
    rows = 6000
    lines = ["id," + ",".join(FEATURES)]
    lines += [f"r{i},5.1,3.5,1.4,0.2" if i % 2 else f"r{i},6.3,2.9,5.6,1.8" for i in range(rows - 1)]
    lines.append("bad,not-a-number,3,4,5")
    page.goto("/models/iris")
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "flowers.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}])
    page.get_by_role("button", name="Score the file").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_text(f"line {rows + 1}:")).to_be_visible()
    shot(page, "batch-job")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the scored CSV").click()
    path = tmp_path / "scored.csv"
    info.value.save_as(path)
    scored = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(scored) == rows
    assert scored[0]["id"] == "r0"
    assert scored[0]["predicted_label"] == "virginica"
    assert scored[1]["predicted_label"] == "setosa"
    assert scored[-1]["error"].startswith(f"line {rows + 1}:")


def test_csv_scoring_works_without_javascript(no_js_page):
    body = "\n".join([",".join(FEATURES)] + ["5.1,3.5,1.4,0.2"] * 20_000).encode()
    no_js_page.goto("/models/iris")
    no_js_page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "plain.csv", "mimeType": "text/csv", "buffer": body}])
    no_js_page.get_by_role("button", name="Score the file").click()
    no_js_page.wait_for_url("**/jobs/*")
    # the job page refreshes itself (<noscript> meta refresh) until the results are there
    expect(no_js_page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    expect(no_js_page.get_by_text("20000 rows scored, 0 with errors.")).to_be_visible()


def test_a_wrong_csv_header_is_a_friendly_error(page):
    page.goto("/models/iris")
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "wrong.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"}])
    page.get_by_role("button", name="Score the file").click()
    expect(page.locator("#csv-error")).to_contain_text("The CSV header lacks")
    expect(page.get_by_label("CSV file", exact=True)).to_be_visible()


def test_a_non_image_gets_a_friendly_error(page):
    page.goto("/models/digits")
    page.get_by_label("Image file").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"just some text"}])
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.locator("#result [role=alert]")).to_contain_text("not an image Podium can read")
    expect(page.get_by_label("Image file")).to_be_visible()
    shot(page, "model-digits-not-an-image")


def test_ops_page_draws_live_charts(page):
    login(page)
    page.goto("/ops")
    expect(page.locator("[data-ops-workers] tr")).not_to_have_count(0)
    expect(page.locator("[data-ops-workers] svg.spark").first).to_be_visible()
    # the second poll adds a point to each chart
    expect(page.locator("[data-ops-workers] polyline").first).to_have_attribute("points", re.compile(" "))
    expect(page.locator("[data-ops-updated]")).to_contain_text("updated")
    shot(page, "ops")


def test_admin_unloads_loads_and_relabels(page):
    login(page)
    page.goto("/admin")
    card = page.locator("#model-wine")
    page.once("dialog", lambda dialog: dialog.dismiss())  # "Unload wine?" → no: nothing changes
    card.get_by_role("button", name="Unload wine").click()
    expect(page.locator(".flash")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Unload wine").click()
    expect(page.locator(".flash")).to_contain_text("wine is unloaded")
    page.locator("#model-wine").get_by_role("button", name="Load wine").click()
    expect(page.locator(".flash")).to_contain_text("wine is being loaded")
    card = page.locator("#model-iris")
    card.get_by_label("Label").fill("stable")
    card.get_by_label("→ version").select_option("1")
    card.get_by_role("button", name="Set label").click()
    expect(page.locator(".flash")).to_contain_text("now points at version 1")
    expect(page.locator(".audit")).to_contain_text("set_label")
    shot(page, "admin")


@pytest.mark.skipif(not hasattr(Lifecycle, "rollback"), reason="Lifecycle.rollback is not merged yet")
def test_admin_rolls_back_a_version(page):
    login(page)
    page.goto("/admin")
    page.locator("#model-iris").get_by_role("button", name="Roll back iris").click()
    expect(page.locator(".flash")).to_contain_text("rolled back to version 1")


def test_a_user_who_is_not_admin_gets_a_403_page(page):
    from tests.conftest import USER

    login(page, USER)
    response = page.goto("/admin")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("403")
    shot(page, "error-403")


def test_api_and_error_pages(page, server):
    page.goto("/api-docs")
    expect(page.locator("pre code", has_text=server.url + "/api/v1/models/").first).to_be_visible()
    expect(page.locator("pre code", has_text=server.url + "/api/tokens").first).to_be_visible()
    assert "//api/" not in page.locator("main").inner_text().replace("://", "")
    shot(page, "api")
    response = page.goto("/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    shot(page, "error-404")


def test_the_page_sends_no_inline_script_or_style(page):
    response = page.goto("/models/digits")
    html = response.text()
    assert "<script>" not in html
    assert " style=" not in html
    assert json.dumps("unsafe-inline") not in response.headers["content-security-policy"]

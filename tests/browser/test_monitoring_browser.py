"""The Monitoring section in a real browser, after `flask demos traffic`-style replay with a shifted
feature: the drift alert, live and estimated accuracy, the histograms drawn (no CSP violation),
ground truth sent by CSV upload, and the /ops summary. Screenshots in test-artifacts/screenshots."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.util import login, shot
from tests.conftest import ADMIN, USER
from webapp.demos.traffic import Traffic, plans, replay


@pytest.fixture(scope="module")
def replayed(server, browser_store):
    """iris and wine held-out rows replayed with iris's petal features shifted, truths sent, computed."""
    traffic = Traffic(server.url, ADMIN)
    started = time.time()
    for plan in plans(browser_store, ("iris", "wine"), ("petal",), 1.5):
        replay(traffic, plan, print)
    for model in ("iris", "wine"):
        traffic.report(model, started, wait_s=60)
    return server


def test_the_monitoring_section_shows_drift_accuracy_and_a_firing_alert(page, replayed):
    page.goto("/models/iris#monitoring")
    section = page.locator("#monitoring")
    expect(section.get_by_role("heading", name="Monitoring")).to_be_visible()
    expect(section.locator("[data-alerts]")).to_contain_text("PodiumDatasetDrift")
    expect(section.locator("[data-dataset-drift]")).to_contain_text("dataset drift")
    expect(section.locator("tr[data-feature='petal length (cm)']")).to_contain_text("drift")
    expect(section.locator("svg.hist")).to_have_count(5)
    box = section.locator("tr[data-feature='petal length (cm)'] svg.hist").bounding_box()
    assert box["width"] > 100
    assert box["height"] > 20
    expect(section.locator("[data-live='accuracy']")).to_be_visible()
    expect(section.locator("[data-estimated]")).to_contain_text("%")
    expect(section.locator("svg.timeline rect").first).to_be_attached()
    section.get_by_text("Its limits").click()
    expect(section.locator("details")).to_contain_text("no concept drift")
    section.scroll_into_view_if_needed()
    shot(page, "model-iris-monitoring")


def test_an_unshifted_model_shows_quality_without_a_drift_alert(page, replayed):
    page.goto("/models/wine#monitoring")
    section = page.locator("#monitoring")
    expect(section.locator("[data-live='accuracy']")).to_be_visible()
    expect(section.locator("[data-alerts]")).not_to_contain_text("PodiumDatasetDrift")
    shot(page, "model-wine-monitoring")


def test_ground_truth_uploaded_as_csv_is_recorded(page, replayed):
    answer = requests.post(replayed.url + "/api/v1/models/iris:predict", auth=USER, timeout=30,
                           json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    rid = answer.headers["X-Podium-Request-ID"]
    login(page, USER)
    page.goto("/models/iris#monitoring")
    deadline = time.monotonic() + 10
    while True:  # the log is written a moment after the answer
        page.get_by_label("Ground truth CSV").set_input_files(files=[{
            "name": "truths.csv", "mimeType": "text/csv",
            "buffer": f"request_id,truth\n{rid},setosa\n".encode()}])
        page.get_by_role("button", name="Send the truths").click()
        if page.locator("#feedback-error").count() == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(page.locator("#monitoring .flash")).to_contain_text("Recorded 1 truths")


def test_recompute_from_the_page(page, replayed):
    page.goto("/models/iris#monitoring")
    page.get_by_role("button", name="Recompute now").click()
    expect(page.locator(".flash")).to_contain_text("Recomputing drift and quality")
    expect(page).to_have_url(re.compile(r"/models/iris.*#monitoring$"))


def test_ops_sums_up_the_log_and_shows_the_alert(page, replayed):
    login(page)
    page.goto("/ops")
    summary = page.locator("[data-ops-monitoring]")
    expect(summary.locator("[data-ops-log]")).to_contain_text("rows written")
    expect(summary.locator("tr[data-monitor='iris']")).to_contain_text("PodiumDatasetDrift")
    summary.scroll_into_view_if_needed()
    shot(page, "ops-monitoring")

"""The recommender and chat pages in a real browser: pick a user, follow a film to its similar ones, hold a
conversation (streamed with JavaScript, plain posts without) and follow an answer's source link.
Screenshots of each."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.util import shot


def test_pick_a_user_then_follow_a_film_to_similar_films(page):
    page.goto("/")
    page.get_by_role("link", name="movies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("movies")
    page.get_by_label("User id").fill("u0042")
    page.get_by_label("How many").fill("5")
    page.get_by_role("button", name="Recommend").click()
    expect(page.get_by_role("heading", name="Recommended for u0042")).to_be_visible()
    expect(page.locator("[data-recommendations] tbody tr")).to_have_count(5)
    expect(page.locator("[data-history] tbody tr").first).to_be_visible()
    _assert_ranked_by_score(page)
    shot(page, "recommender-user")
    first = page.locator("[data-recommendations] tbody tr").first
    film = first.locator("span.muted").inner_text()
    first.get_by_role("link", name="similar").click()
    expect(page.get_by_role("heading", name=f"Similar to {film}")).to_be_visible()
    expect(page.locator("[data-recommendations] tbody tr")).to_have_count(10)
    _assert_ranked_by_score(page)
    shot(page, "recommender-similar")


def _assert_ranked_by_score(page):
    cells = page.locator("[data-recommendations] tbody tr td:nth-child(3)")
    scores = [float(s) for s in cells.all_inner_texts()]
    assert scores
    assert scores == sorted(scores, reverse=True)


def test_an_unknown_user_and_a_bad_k_are_explained(page):
    page.goto("/recommend/movies?user=newcomer")
    expect(page.get_by_role("heading", name="Popular films (unknown user newcomer)")).to_be_visible()
    page.goto("/recommend/movies?user=u0042&k=1000")
    expect(page.get_by_role("alert")).to_contain_text("k must be a whole number from 1 to 100")


def test_a_conversation_with_its_source_link(page):
    page.goto("/models/helpdesk")
    expect(page).to_have_url(re.compile(r".*/chat/helpdesk$"))
    page.get_by_label("Your message").fill("How do I roll back to the previous version?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-role=assistant]")).to_have_count(1)
    expect(page.locator("[data-usage]")).to_contain_text("Tokens:")
    page.get_by_label("Your message").fill("and how do I split traffic between two versions?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-role=assistant]")).to_have_count(2)
    shot(page, "chat-conversation")
    page.locator("[data-role=assistant] [data-source]").first.click()
    expect(page).to_have_url(re.compile(r".*/source/docs/lifecycle\.md#.+"))
    shot(page, "chat-source")


# Records each piece of text the page adds to the newest answer, as the page adds it.
RECORD_PIECES = """() => {
  window.pieces = [];
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) => {
    const answer = n.nodeType === Node.TEXT_NODE && n.parentElement.closest("[data-role=assistant]");
    if (answer) window.pieces.push(n.data);
  }))).observe(document.querySelector("[data-conversation]"), {childList: true, subtree: true});
}"""


def test_the_chat_page_streams_the_answer_piece_by_piece_then_links_its_source(page):
    page.goto("/")
    expect(page.get_by_role("link", name="movies")).to_be_visible()  # the home page lists both demos
    page.get_by_role("link", name="helpdesk").click()
    expect(page).to_have_url(re.compile(r".*/chat/helpdesk$"))
    page.evaluate(RECORD_PIECES)
    page.get_by_label("Your message").fill("How do I roll back to the previous version?")
    with page.expect_response("**/chat/helpdesk/stream") as streamed:
        page.get_by_role("button", name="Send").click()
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    answer = page.locator("[data-role=assistant]")
    expect(answer.locator("[data-source]").first).to_be_visible()
    expect(page.locator("[data-usage]")).to_contain_text("Tokens:")
    pieces = page.evaluate("window.pieces")
    assert len(pieces) > 5  # the reply grew as the events came, not set whole
    assert "".join(pieces) == answer.locator(".text").inner_text()
    assert page.url.endswith("/chat/helpdesk")  # no page load: the plain post was not used
    expect(page.get_by_label("Your message")).to_have_value("")
    kept = json.loads(page.locator("input[name=conversation]").input_value())  # what the next post carries
    assert [t["role"] for t in kept] == ["user", "assistant"]
    assert kept[1]["sources"][0][1] == "docs/lifecycle.md#roll-back-in-one-call"
    shot(page, "chat-streamed")
    answer.locator("[data-source]").first.click()
    expect(page).to_have_url(re.compile(r".*/source/docs/lifecycle\.md#roll-back-in-one-call$"))
    expect(page.locator("#roll-back-in-one-call")).to_be_visible()


def test_a_refused_stream_says_why_and_keeps_the_message(page):
    page.goto("/chat/helpdesk")
    page.get_by_text("Settings").click()
    page.get_by_label("Temperature").fill("hot")
    page.get_by_label("Your message").fill("How do I roll back to the previous version?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Temperature must be a number from 0 to 2")
    expect(page.locator("[data-role]")).to_have_count(0)
    expect(page.get_by_label("Your message")).to_have_value("How do I roll back to the previous version?")
    page.get_by_label("Temperature").fill("0.2")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-role=assistant] [data-source]").first).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_the_chat_works_without_javascript(no_js_page):
    page = no_js_page
    page.goto("/chat/helpdesk")
    page.get_by_text("Settings").click()
    page.get_by_label("System prompt").fill("You are Podium's helpdesk.")
    page.get_by_label("Your message").fill("How are versions published?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-role=assistant]")).to_have_count(1)
    expect(page.get_by_label("System prompt")).to_have_value("You are Podium's helpdesk.")
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("[data-role=assistant]")).to_have_count(0)

"""The recommender and chat pages in a real browser: pick a user, follow a film to its similar ones, hold a
conversation (with and without JavaScript) and follow an answer's source link. Screenshots of each."""

from __future__ import annotations

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
    shot(page, "recommender-user")
    first = page.locator("[data-recommendations] tbody tr").first
    film = first.locator("span.muted").inner_text()
    first.get_by_role("link", name="similar").click()
    expect(page.get_by_role("heading", name=f"Similar to {film}")).to_be_visible()
    expect(page.locator("[data-recommendations] tbody tr")).to_have_count(10)
    shot(page, "recommender-similar")


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

"""Helpers for the browser tests: screenshots and logging in through the form."""

from __future__ import annotations

from tests.conftest import ADMIN
from tests.support.server import ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def shot(page, name: str) -> None:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, user: tuple[str, str] = ADMIN) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")

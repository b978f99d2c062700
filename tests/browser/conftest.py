"""A real browser (Playwright driving Debian's chromium) against a real gunicorn-served Podium.

chromium comes from `scripts/install-browser` (apt); Playwright never downloads a browser here.
Every page the tests visit must load without a Content-Security-Policy violation or a script error.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn

CHROMIUM = os.environ.get("PODIUM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def browser_store(demo_store: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser-store") / "store"
    shutil.copytree(demo_store, root)
    return root


@pytest.fixture(scope="session")
def server(browser_store: Path, tmp_path_factory):
    instance = tmp_path_factory.mktemp("browser-instance")
    with gunicorn(browser_store, instance, {"admin": ADMIN, "user": USER}, workers=2) as running:
        _wait_for_every_worker(running.url, workers=2)
        yield running


def _wait_for_every_worker(url: str, workers: int, timeout: float = 120.0) -> None:
    """/readyz answered by one worker; pages may reach the other, so wait until both are ready."""
    ready: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(ready) < workers and time.monotonic() < deadline:
        doc = requests.get(url + "/api/stats", auth=USER, headers={"Connection": "close"}, timeout=10).json()
        if doc["ready"]:
            ready.add(doc["process"]["pid"])
        else:
            time.sleep(0.2)
    assert len(ready) == workers, f"only workers {ready} became ready"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a shared 2-core machine can be slow; waits end when met
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def _context(browser, server, **options):
    context = browser.new_context(base_url=server.url, accept_downloads=True,
                                  viewport={"width": 1200, "height": 900}, **options)
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def page(browser, server):
    """A fresh browser tab; fails the test on any CSP violation or uncaught script error."""
    context = _context(browser, server)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    yield tab
    context.close()
    blocking = [p for p in problems if "Content Security Policy" in p or p.startswith("script error")]
    assert blocking == []


@pytest.fixture
def no_js_page(browser, server):
    context = _context(browser, server, java_script_enabled=False)
    yield context.new_page()
    context.close()

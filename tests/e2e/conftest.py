"""Real headless Chromium (Debian's) driven by Playwright against the app served from a thread."""

from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


@pytest.fixture
def shot(request):
    """shot(page, name) saves a full-page screenshot under test-output/screenshots/."""
    from tests.conftest import OUTPUT

    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str):
        path = folder / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


@pytest.fixture
def sign_in(page, live_server):
    """sign_in(slug, email): the browser (1280×900) signs in at the tenant's login page and lands on its
    dashboard; returns the list the page's console errors are collected in."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    def _sign_in(slug: str, email: str) -> list[str]:
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}/t/{slug}/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server}/t/{slug}/")
        return errors

    return _sign_in

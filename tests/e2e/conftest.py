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

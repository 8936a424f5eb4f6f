"""Debian's chromium driven by Playwright, for the tests of web pages (dashboard, reports,
trainee pages). Never `playwright install`: its own browser download cannot work here, so
the tests use /usr/bin/chromium (or $ASHIWATCH_CHROMIUM).

scripts/setup installs chromium (the README's first command); without it these tests fail and
say what to install, never skip. ``needs_chromium`` marks them (``pytest -m browser``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ASHIWATCH_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required"]
# where the tests' screenshots go, to be looked at
SHOTS_ROOT = Path(os.environ.get("ASHIWATCH_SHOTS", tempfile.gettempdir()))

needs_chromium = pytest.mark.browser

from playwright import sync_api  # noqa: E402  (the dev extra)


@pytest.fixture(scope="module")
def browser(tmp_path_factory, request):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup (apt-get install chromium)")
    viewport = getattr(request.module, "VIEWPORT", {"width": 1100, "height": 760})
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        # a persistent context is how Playwright gives chromium a user-data-dir of our own
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport=viewport)
        yield ctx
        ctx.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # what the Content-Security-Policy refuses is a console error, not a page error
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error"
          and "Content Security Policy" in m.text else None)
    pg.errors = errors
    yield pg
    pg.close()


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JavaScript expression until it is truthy. Not Playwright's wait_for_function:
    that evaluates a string with eval in the page, which the service's CSP refuses (as it
    should: the pages have no 'unsafe-eval'); page.evaluate goes through the debugger."""
    import time
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression}"
        time.sleep(0.1)

"""Real-browser fixtures: Debian's Chromium driven by Playwright, one browser per session.

Playwright cannot download its own browsers here, so it launches the system Chromium
(``DFL_AUDIO_CHROMIUM`` or the first of ``chromium``/``chromium-browser`` on PATH). Where no
Chromium is installed, or Playwright is missing, every browser test is skipped with a message
saying so; scripts/test.sh installs both, so CI runs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import CHROMIUM_ARGS, PageOpener, chromium_path
from site_under_test import SiteUrls, serve_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (``-m browser`` picks them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium: install Debian's chromium (scripts/test.sh does: apt-get install "
            "chromium) or set DFL_AUDIO_CHROMIUM to a Chromium binary"
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    expect.set_options(timeout=15_000)  # this machine is slow and shared
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteUrls]:
    """The show page and an episode page, served over HTTP on 127.0.0.1."""
    with serve_site(tmp_path_factory.mktemp("site")) as urls:
        yield urls


@pytest.fixture
def open_page(browser: Browser) -> Iterator[PageOpener]:
    """A page factory; any console error, uncaught exception or failed load fails the test."""
    opener = PageOpener(browser)
    try:
        yield opener
        assert opener.console.errors == [], "\n".join(opener.console.errors)
    finally:
        opener.close()


@pytest.fixture
def page(open_page: PageOpener) -> Page:
    """A fresh desktop-sized page (1280x800)."""
    return open_page()


@pytest.fixture
def page_without_js(open_page: PageOpener) -> Page:
    """A page as a listener with JavaScript turned off sees it."""
    return open_page(java_script_enabled=False)

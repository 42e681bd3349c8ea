"""Real-browser fixtures: Debian's Chromium driven by Playwright, one browser per session.

Playwright cannot download its own browsers here, so it launches the system Chromium
(``DFL_AUDIO_CHROMIUM`` or the first of ``chromium``/``chromium-browser`` on PATH). Where no
Chromium is installed, or Playwright is missing, every browser test is skipped with a message
saying so; scripts/test.sh installs both, so CI runs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from site_under_test import SiteUrls, serve_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

# Headless Chromium as root needs --no-sandbox; audio must play without a click and without a
# sound card (the fake device keeps the media clock running, so currentTime advances).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--disable-gpu",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ASSET_TYPES = {"stylesheet": "text/css", "script": "text/javascript"}


def chromium_path() -> str | None:
    """The system Chromium to launch, or None when this machine has none."""
    configured = os.environ.get("DFL_AUDIO_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


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
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
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


@dataclass
class ConsoleLog:
    """What the page said on its console and what it threw, for the no-errors check."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def on_response(self, response: Response) -> None:
        """A failed load, or an asset the browser would refuse (it says so on no console)."""
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")
        wanted = ASSET_TYPES.get(response.request.resource_type)
        served = response.headers.get("content-type", "")
        if wanted and not served.startswith(wanted):
            self.errors.append(f"{response.url} served as {served!r}, not {wanted}")


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A fresh desktop-sized page; any console error or uncaught exception fails the test."""
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)  # this machine is slow and shared
    opened = context.new_page()
    opened.on("console", console.on_console)
    opened.on("pageerror", console.on_page_error)
    opened.on("response", console.on_response)
    try:
        yield opened
        assert console.errors == [], "\n".join(console.errors)
    finally:
        context.close()


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    """A page as a listener with JavaScript turned off sees it."""
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()

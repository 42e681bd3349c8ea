"""What the browser tests share: the Chromium to launch, viewports, a page opener that
records console errors and failed loads."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Response,
        ViewportSize,
    )

# Headless Chromium as root needs --no-sandbox; audio must play without a click, and muted it
# needs no sound card (with none, Chromium plays to a fake output and currentTime advances).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often give /dev/shm 64 MB: Chromium then crashes
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
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


class PageOpener:
    """Opens pages in fresh browser contexts, each watched by one :class:`ConsoleLog`."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.console = ConsoleLog()
        self.contexts: list[BrowserContext] = []

    def __call__(self, viewport: ViewportSize = DESKTOP, **options: Any) -> Page:
        context = self.browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(15_000)  # this machine is slow and shared
        self.contexts.append(context)
        opened = context.new_page()
        opened.on("console", self.console.on_console)
        opened.on("pageerror", self.console.on_page_error)
        opened.on("response", self.console.on_response)
        return opened

    def close(self) -> None:
        for context in self.contexts:
            context.close()

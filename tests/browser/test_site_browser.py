"""The show page and an episode page in a real Chromium: accessibility, layout, screenshots.

``DFL_AUDIO_SCREENSHOTS=docs/screenshots`` (what scripts/screenshots.sh sets) keeps the
screenshots for the README; otherwise they go to a temp folder and are only checked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import DESKTOP, PHONE, PageOpener
from PIL import Image
from site_under_test import SiteUrls

if TYPE_CHECKING:
    from playwright.sync_api import Page, Response, ViewportSize

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect
# WCAG 2.1 A and AA plus axe's best practices (landmarks, one h1, regions).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# The episode opened at a deep link, so the screenshot shows a marked chapter and cue.
EPISODE_AT = "#t=0:27"


def axe_violations(page: Page) -> str:
    """axe-core's report of every violation on the page ('' when there are none)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return results.generate_report() if results.violations_count else ""


def wait_until_enhanced(page: Page) -> None:
    page.wait_for_function("() => document.readyState === 'complete'")
    if page.locator("#player-audio").count():
        page.wait_for_selector(".player-controls button.play")
        page.wait_for_function("() => document.getElementById('player-audio').readyState >= 1")


@pytest.mark.parametrize("which", ["show", "episode"])
@pytest.mark.parametrize(
    ("viewport", "scheme"),
    [(DESKTOP, "light"), (PHONE, "light"), (DESKTOP, "dark")],
    ids=["desktop", "phone", "dark"],
)
def test_axe_finds_no_violations(
    open_page: PageOpener, site: SiteUrls, which: str, viewport: ViewportSize, scheme: str
) -> None:
    page = open_page(viewport, color_scheme=scheme)
    page.goto(site.show if which == "show" else site.episode + EPISODE_AT)
    wait_until_enhanced(page)
    if which == "episode":  # the marked chapter and cue must meet contrast too
        page.wait_for_selector("li.cue.current")
        page.wait_for_selector('li.chapter[aria-current="true"]')
    assert axe_violations(page) == ""


def test_axe_finds_no_violations_without_the_player_script(
    open_page: PageOpener, site: SiteUrls
) -> None:
    """The plain page (native audio controls) is accessible too.

    axe itself needs JavaScript, so the page's own script is replaced by an empty one.
    """
    page = open_page()
    page.route(
        "**/assets/player-*.js",
        lambda route: route.fulfill(body="", content_type="text/javascript"),
    )
    page.goto(site.episode)
    page.wait_for_function("() => document.readyState === 'complete'")
    assert page.locator("audio#player-audio[controls]").count() == 1
    assert axe_violations(page) == ""


@pytest.mark.parametrize("which", ["show", "episode"])
def test_phone_layout_does_not_scroll_sideways(
    open_page: PageOpener, site: SiteUrls, which: str
) -> None:
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    page.goto(site.show if which == "show" else site.episode)
    wait_until_enhanced(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px phone"
    if which == "episode":
        box = page.locator(".player-controls button.play").bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44  # a thumb's target


def test_copy_button_copies_the_feed_url(open_page: PageOpener, site: SiteUrls) -> None:
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(site.show)
    copy = page.get_by_role("button", name="Copy")
    copy.click()  # hidden without JavaScript: the script shows it
    feed_url = page.locator("#feed-url").input_value()
    assert feed_url.endswith(".xml")
    page.wait_for_function("() => document.querySelector('button.copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == feed_url
    expect(page.locator("button.copy")).to_have_text("Copied")  # until focus moves on
    page.keyboard.press("Tab")
    expect(page.locator("button.copy")).to_have_text("Copy")


def test_without_javascript_the_copy_button_is_hidden(
    page_without_js: Page, site: SiteUrls
) -> None:
    page_without_js.goto(site.show)
    assert page_without_js.locator("#feed-url").is_visible()  # selectable by hand
    assert page_without_js.locator("button.copy").is_hidden()


def test_screenshots(open_page: PageOpener, site: SiteUrls, tmp_path: Path) -> None:
    """Desktop (1280x800) and phone (390x844) views of both pages, for the README."""
    folder = Path(os.environ.get("DFL_AUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shots = {
        "show-desktop.png": (site.show, DESKTOP, {}),
        "show-phone.png": (site.show, PHONE, {"is_mobile": True, "has_touch": True}),
        "episode-desktop.png": (site.episode + EPISODE_AT, DESKTOP, {}),
        "episode-phone.png": (
            site.episode + EPISODE_AT,
            PHONE,
            {"is_mobile": True, "has_touch": True},
        ),
    }
    for name, (url, viewport, options) in shots.items():
        page = open_page(viewport, device_scale_factor=1, **options)
        page.goto(url)
        wait_until_enhanced(page)
        if "episode" in name:
            page.wait_for_selector("li.cue.current")
            # From the player down: the controls, the marked chapter and the transcript.
            page.evaluate(
                "scrollTo(0, document.querySelector('section.player').getBoundingClientRect()"
                ".top + scrollY - 12)"
            )
        page.screenshot(path=folder / name, animations="disabled")
        with Image.open(folder / name) as image:
            assert image.size == (viewport["width"], viewport["height"]), name


def test_episode_page_with_its_script_and_stylesheet_is_under_60_kb(
    open_page: PageOpener, site: SiteUrls
) -> None:
    """Issue 9's page weight: the HTML, JS and CSS a listener downloads, before art and audio."""
    page = open_page()
    loaded: dict[str, int] = {}
    kinds = ("document", "script", "stylesheet")

    def record(response: Response) -> None:
        if response.request.resource_type in kinds:
            loaded[response.url] = len(response.body())

    page.on("response", record)
    page.goto(site.episode)
    wait_until_enhanced(page)
    assert len(loaded) == 3, loaded  # one page, one script, one stylesheet
    assert sum(loaded.values()) < 60_000, loaded

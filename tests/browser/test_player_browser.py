"""The episode player in a real Chromium: playback, chapters, transcript, deep links, keys.

Every test also fails on any console error or uncaught exception (the ``page`` fixture).
Times are read from the page's ``data-start`` attributes, so the tests hold for any episode
with at least three chapters, a transcript and 40 seconds of audio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from browser_support import PageOpener
from site_under_test import SiteUrls

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect
WAIT_MS = 15_000  # generous: the machine running CI is slow and shared


def audio_property(page: Page, name: str) -> float:
    return float(page.eval_on_selector("#player-audio", f"a => Number(a.{name})"))


def wait_for_audio(page: Page, condition: str) -> None:
    """Wait until ``condition`` holds: JS over ``a``, the audio element, and ``t``, its time."""
    page.wait_for_function(
        "() => { const a = document.getElementById('player-audio'); const t = a.currentTime; "
        f"return {condition}; }}",
        timeout=WAIT_MS,
    )


def open_episode(page: Page, site: SiteUrls, fragment: str = "") -> None:
    """Load the episode page and wait for the player script and the audio's metadata."""
    page.goto(site.episode + fragment)
    page.wait_for_selector(".player-controls button.play")
    wait_for_audio(page, "a.readyState >= 1")


def starts(page: Page, selector: str) -> list[float]:
    return [
        float(s)
        for s in page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.start)")
    ]


def test_play_advances_time_and_pause_stops_it(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    page.get_by_role("button", name="Play").click()
    wait_for_audio(page, "!a.paused && t > 1")
    page.get_by_role("button", name="Pause").click()
    wait_for_audio(page, "a.paused")
    stopped = audio_property(page, "currentTime")
    page.wait_for_timeout(700)  # a clock that must NOT move can only be checked by waiting
    assert audio_property(page, "currentTime") == stopped
    expect(page.get_by_role("button", name="Play")).to_be_visible()  # after the pause event


def test_chapter_click_seeks_and_marks_the_chapter(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    chapter_starts = starts(page, "li.chapter")
    assert len(chapter_starts) >= 3
    last = page.locator("li.chapter").nth(len(chapter_starts) - 1)
    last.locator(".chapter-title").click()
    wait_for_audio(page, f"t >= {chapter_starts[-1]} && !a.paused")
    assert last.get_attribute("aria-current") == "true"
    assert page.locator('li.chapter[aria-current="true"]').count() == 1
    # The time link seeks too, and leaves a shareable #t= in the address bar.
    second = page.locator("li.chapter").nth(1)
    second.locator("a.chapter-time").click()
    wait_for_audio(page, f"t >= {chapter_starts[1]} && t < {chapter_starts[2]}")
    assert second.get_attribute("aria-current") == "true"
    assert page.evaluate("location.hash") == second.locator("a.chapter-time").get_attribute("href")


@pytest.mark.parametrize("fragment", ["#t=0:05", "#t=5", "#t=0:00:05", "#t=5,9"])
def test_deep_link_starts_playback_there(page: Page, site: SiteUrls, fragment: str) -> None:
    open_episode(page, site, fragment)
    wait_for_audio(page, "Math.abs(t - 5) < 0.3")
    page.get_by_role("button", name="Play").click()
    wait_for_audio(page, "!a.paused && t > 5.3")
    played_from = page.eval_on_selector("#player-audio", "a => a.played.start(0)")
    assert abs(played_from - 5) < 0.3  # what was heard began at 0:05, not at 0:00


def test_hash_change_seeks(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    page.evaluate("location.hash = '#t=0:20'")
    wait_for_audio(page, "Math.abs(t - 20) < 0.3")
    # Ignored: a NaN seek would throw, and the page fixture fails on any uncaught error.
    page.evaluate("location.hash = '#t=nonsense'")
    page.evaluate("location.hash = '#t=31.5'")
    wait_for_audio(page, "Math.abs(t - 31.5) < 0.3")


def test_transcript_highlight_follows_playback(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    cue_starts = starts(page, "li.cue")
    assert len(cue_starts) >= 3
    page.get_by_role("button", name="Play").click()
    current = page.locator("li.cue.current")
    for index in (1, 2):  # the highlight moves from cue to cue as the audio plays
        page.wait_for_function(
            "i => document.querySelector('li.cue.current') === "
            "document.querySelectorAll('li.cue')[i]",
            arg=index,
            timeout=WAIT_MS + int(cue_starts[index] * 1000),
        )
    assert current.count() == 1
    assert current.get_attribute("aria-current") == "true"


def test_cue_click_seeks(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    target = page.locator("li.cue").last  # the last stays current however slow the machine
    start = float(target.get_attribute("data-start") or "nan")
    target.locator(".cue-text").click()
    wait_for_audio(page, f"t >= {start} && !a.paused")
    assert "current" in (target.get_attribute("class") or "")
    assert target.get_attribute("aria-current") == "true"


def test_transcript_box_follows_unless_the_reader_is_elsewhere(
    open_page: PageOpener, site: SiteUrls
) -> None:
    page = open_page(reduced_motion="reduce")  # the box jumps instead of gliding: no animation
    open_episode(page, site)
    cue_starts = starts(page, "li.cue")
    late = cue_starts[-2]
    box = page.locator("ol.cues")
    assert box.evaluate("b => b.scrollHeight > b.clientHeight"), "the transcript is a scroll box"
    page.evaluate(f"location.hash = '#t={late}'")  # a jump: the box shows the current cue
    page.wait_for_function(
        "() => { const c = document.querySelector('li.cue.current'), b = c.parentElement; "
        "const r = c.getBoundingClientRect(), q = b.getBoundingClientRect(); "
        "return c.dataset.start !== document.querySelector('li.cue').dataset.start "
        "&& r.top >= q.top && r.bottom <= q.bottom; }",
        timeout=WAIT_MS,
    )
    # Reading elsewhere in the transcript: playback moving on does not scroll it back.
    box.evaluate("b => b.scrollTop = 0")
    box.dispatch_event("wheel")
    page.get_by_role("button", name="Play").click()
    page_scroll = page.evaluate("window.scrollY")
    page.wait_for_function(
        "() => document.querySelector('li.cue:last-child.current')",
        timeout=WAIT_MS + int((cue_starts[-1] - late) * 1000),
    )
    assert box.evaluate("b => b.scrollTop") == 0
    assert page.evaluate("window.scrollY") == page_scroll  # nor does the page, ever


def test_skip_buttons_and_speed(page: Page, site: SiteUrls) -> None:
    open_episode(page, site, "#t=20")
    wait_for_audio(page, "Math.abs(t - 20) < 0.3")
    page.get_by_role("button", name="Back 15 seconds").click()
    wait_for_audio(page, "Math.abs(t - 5) < 0.3")
    page.get_by_role("button", name="Forward 30 seconds").click()
    wait_for_audio(page, "Math.abs(t - 35) < 0.3")
    page.get_by_role("button", name="Forward 30 seconds").click()  # past the end: the end
    wait_for_audio(page, "Math.abs(t - a.duration) < 0.3")
    speed = page.get_by_label("Playback speed")
    assert speed.evaluate("s => [...s.options].map(o => o.value)") == [
        "1",
        "1.25",
        "1.5",
        "1.75",
        "2",
    ]
    speed.select_option("1.5")
    assert audio_property(page, "playbackRate") == 1.5
    page.reload()  # the listener's speed is kept for the next episode
    page.wait_for_selector(".player-controls button.play")
    assert page.get_by_label("Playback speed").input_value() == "1.5"
    assert audio_property(page, "playbackRate") == 1.5


def test_position_slider_seeks_and_shows_the_time(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    slider = page.get_by_label("Position")
    slider.fill("13")
    wait_for_audio(page, "Math.abs(t - 13) < 0.3")
    assert page.locator(".player-controls .clock").inner_text().startswith("0:13 / ")
    assert (slider.get_attribute("aria-valuetext") or "").startswith("0:13 of ")
    assert page.locator("li.chapter").nth(1).get_attribute("aria-current") == "true"


def test_keyboard_operates_the_player(page: Page, site: SiteUrls) -> None:
    open_episode(page, site)
    for _ in range(40):  # the player is reachable with Tab alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.player-controls button.play')"):
            break
    else:
        pytest.fail("Tab never reached the play button")
    page.keyboard.press("Space")  # the focused button, once (the page must not toggle it twice)
    wait_for_audio(page, "!a.paused && t > 0.5")
    page.keyboard.press("k")
    wait_for_audio(page, "a.paused")
    page.keyboard.press("l")
    wait_for_audio(page, "t >= 30")
    page.keyboard.press("j")
    wait_for_audio(page, "t >= 15 && t < 20")
    page.keyboard.press("ArrowRight")
    wait_for_audio(page, "t >= 45 || Math.abs(t - a.duration) < 0.3")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("k")
    wait_for_audio(page, "!a.paused")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()  # after the play event


def test_without_javascript_the_page_is_plain_html(page_without_js: Page, site: SiteUrls) -> None:
    page = page_without_js
    page.goto(site.episode)
    audio = page.locator("audio#player-audio")
    assert audio.get_attribute("controls") is not None
    assert audio.get_attribute("preload") == "metadata"
    assert page.locator(".player-controls").count() == 0
    assert page.locator("li.chapter a.chapter-time").count() >= 3
    assert page.locator("li.cue .cue-text").first.is_visible()
    assert page.locator("a.download").get_attribute("href")


def test_audio_that_cannot_load_says_so(open_page: PageOpener, site: SiteUrls) -> None:
    page = open_page()
    page.route("**/audio/*.mp3", lambda route: route.fulfill(status=404, body="gone"))
    page.goto(site.episode)
    expect(page.get_by_role("status")).to_contain_text("could not be loaded", timeout=WAIT_MS)
    expect(page.locator("a.download")).to_be_visible()
    failed = [error for error in open_page.console.errors if "404" not in error]
    assert failed == [], failed  # the 404 is this test's doing; nothing else may go wrong
    open_page.console.errors.clear()

"""Issue 9's page weight, measured where it counts: what Chromium transfers for an episode
page with an hour-long transcript (every real DFL interview runs an hour), its CSS and its JS,
from ``dfl-audio serve``: under 60 KB before the cover and the audio. The transcript stays
whole in the page as plain HTML (the page works with JS off), so the budget is met by sending
it gzip-encoded, as S3 stores it.

Publishing an hour of audio takes a minute or two: one publish serves every test here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from browser_support import PageOpener
from hour_transcript import CUES, hour_cues
from site_under_test import serve_hour_site

if TYPE_CHECKING:
    from playwright.sync_api import Response

BUDGET = 60_000  # bytes transferred: the page, its CSS and its JS (headers included)
CHECKED = ("document", "stylesheet", "script")


@pytest.fixture(scope="module")
def hour_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_hour_site(tmp_path_factory.mktemp("hour")) as url:
        yield url


def loaded(open_page: PageOpener, url: str, **options: object) -> list[Response]:
    """Open ``url``; the responses of the page, its stylesheet and its script."""
    page = open_page(**options)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="load")
    return [r for r in responses if r.request.resource_type in CHECKED]


def test_an_hour_long_episode_page_with_its_css_and_js_transfers_under_60_kb(
    open_page: PageOpener, hour_page: str
) -> None:
    responses = loaded(open_page, hour_page)
    assert sorted(r.request.resource_type for r in responses) == sorted(CHECKED)
    transferred = decoded = 0
    for response in responses:
        sizes = response.request.sizes()
        body = sizes["responseBodySize"]  # as received: the encoded body
        assert response.headers.get("content-encoding") == "gzip", response.url
        assert int(response.headers["content-length"]) == body, response.url
        transferred += body + sizes["responseHeadersSize"]
        decoded += len(response.body())  # what the browser parsed
    assert transferred < BUDGET, f"{transferred} bytes transferred ({decoded} decoded)"
    assert decoded > 150_000  # the hour's transcript is all there, only compressed


def test_with_js_off_the_whole_transcript_is_in_the_page(
    open_page: PageOpener, hour_page: str
) -> None:
    page = open_page(java_script_enabled=False)
    page.goto(hour_page, wait_until="load")
    cues = hour_cues()
    items = page.locator("section.transcript ol.cues > li.cue")
    assert items.count() == CUES == len(cues)
    texts = page.locator("li.cue .cue-text").all_text_contents()
    assert texts == [cue.text for cue in cues]
    starts = [float(s) for s in page.locator("li.cue").evaluate_all(
        "items => items.map(li => li.dataset.start)")]  # fmt: skip
    assert starts == pytest.approx([cue.start for cue in cues], abs=0.001)
    named = page.locator("li.cue .speaker").all_text_contents()
    turns = [
        cue.speaker for n, cue in enumerate(cues) if n == 0 or cue.speaker != cues[n - 1].speaker
    ]
    assert named == turns  # each turn names its speaker once
    assert page.locator("li.cue a.cue-time").last.get_attribute("href") == "#t=59:54"
    assert page.locator(".player-controls").count() == 0  # no script ran


def test_the_player_follows_the_hour_long_transcript(open_page: PageOpener, hour_page: str) -> None:
    """A cue near the end of the hour seeks there and is marked (the markup the JS needs)."""
    page = open_page()
    page.goto(hour_page, wait_until="load")
    page.wait_for_selector(".player-controls button.play")
    last = hour_cues()[-1]
    page.locator("li.cue").last.locator(".cue-text").click()
    page.wait_for_selector("li.cue:last-child.current")
    position = page.evaluate("() => document.getElementById('player-audio').currentTime")
    assert position == pytest.approx(last.start, abs=1.0)

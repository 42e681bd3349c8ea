"""Weigh an episode page with its JS and CSS (issue 9's budget: under 60 KB before the cover
and the audio): raw, and as it travels gzip-encoded; and where a transcript cue's bytes go.

    .venv/bin/python scripts/page_weight.py [--cues 600] [--browser]

Two pages: the sample show's episode page, published from the shipped episodes/ into a
temporary folder (as the README's first command does), and an episode of bench_feed.py's
(every feed field, ~1.5 KB of notes) with an hour-long transcript from
tests/hour_transcript.py (600 cues, two speakers alternating in turns of a few cues). The
transferred size is the gzip body the storage keeps and ``dfl-audio serve`` sends
(:func:`dfl_audio.compression.gzip_bytes`); response headers are not counted.

``--browser`` also publishes the hour-long episode with the CLI (an hour of audio: a minute or
two), serves it as ``dfl-audio serve`` does and loads the page in Chromium (Playwright), which
reports what it transferred, headers included: what tests/browser/test_page_weight_browser.py
asserts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from bench_feed import BASE, make_item, make_show  # noqa: E402
from hour_transcript import hour_cues  # noqa: E402

from dfl_audio.compression import gzip_bytes  # noqa: E402
from dfl_audio.episodes import Project  # noqa: E402
from dfl_audio.feed import render_feed  # noqa: E402
from dfl_audio.publish import RunOptions, run  # noqa: E402
from dfl_audio.site.assets import player_assets  # noqa: E402
from dfl_audio.site.build import render_site  # noqa: E402
from dfl_audio.site.listing import listed_episodes  # noqa: E402
from dfl_audio.storage import LocalStorage  # noqa: E402
from dfl_audio.transcript_cues import Cue  # noqa: E402

BUDGET = 60_000
CUE = re.compile(rb'<li class="cue"[^\n]*?</li>\n?')
PARTS = (  # what a cue's markup is made of, in the order the template writes it
    ("<li> with data-start/data-end", rb"<li [^>]*>"),
    ("time link <a href=#t=>", rb"<a [^>]*>[^<]*</a>"),
    ('speaker <span class="speaker">', rb'<span class="speaker">[^<]*</span>'),
    ("text's <span> tags", rb"<span[^>]*>|</span>"),
    ("</li> and whitespace", rb"</li>|\s(?=<)|\n"),
)


def sample_page(folder: Path) -> bytes:
    """The sample episode's page as `dfl-audio publish` stores it."""
    shutil.copytree(ROOT / "episodes", folder / "episodes")
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    run(Project(folder), LocalStorage(folder / "storage"), RunOptions(now=now))
    return (folder / "storage" / "episodes" / "welcome.html").read_bytes()


def hour_page(count: int) -> bytes:
    """An episode page with every field and ``count`` cues of generated speech."""
    show = make_show()
    item = make_item(1)
    item = item.model_copy(update={"audio_url": f"{BASE}audio/{item.episode.slug}-{0:012x}.mp3"})
    image = f"{BASE}art/cover.jpg"
    cues = [Cue(c.start, c.end, c.text, c.speaker) for c in hour_cues(count)]
    feed = render_feed(show, [item], image_url=image)
    site = render_site(show, image, [item], {item.episode.slug: cues}, listed_episodes(feed))
    return next(f.data for f in site.files if f.key.startswith("episodes/"))


def weigh(name: str, page: bytes) -> None:
    assets = player_assets()
    rows = [("page", page), *((a.key, a.data) for a in assets.all)]
    print(f"\n{name}")
    raw_total = gz_total = 0
    for label, data in rows:
        packed = len(gzip_bytes(data))
        raw_total += len(data)
        gz_total += packed
        print(f"  {label:34} {len(data) / 1e3:7.1f} KB raw {packed / 1e3:7.1f} KB gzip")
    verdict = "OK" if gz_total < BUDGET else "OVER"
    print(
        f"  {'total':34} {raw_total / 1e3:7.1f} KB raw {gz_total / 1e3:7.1f} KB gzip  ({verdict})"
    )


def cue_breakdown(page: bytes) -> None:
    """Bytes per cue by part, and what the transcript adds to the page in transit."""
    cues = CUE.findall(page)
    if not cues:
        return
    parts: Counter[str] = Counter()
    for cue in cues:
        rest = cue
        for label, pattern in PARTS:
            found = re.findall(pattern, rest)
            parts[label] += sum(len(piece) for piece in found)
            rest = re.sub(pattern, b"", rest)
        parts["text (escaped)"] += len(rest)
    n = len(cues)
    total = sum(len(cue) for cue in cues)
    print(f"\nper cue ({n} cues, {total / n:.0f} bytes each on average)")
    for label, size in parts.most_common():
        print(f"  {label:34} {size / n:6.1f} bytes  {100 * size / total:5.1f} %")
    start = page.index(cues[0])
    end = page.index(cues[-1]) + len(cues[-1])
    without = page[:start] + page[end:]
    added = len(gzip_bytes(page)) - len(gzip_bytes(without))
    text = b" ".join(re.findall(rb'<span class="cue-text">([^<]*)</span>', b"".join(cues)))
    print(f"  the cues add {total / 1e3:.1f} KB raw, {added / 1e3:.1f} KB gzip to the page")
    packed = len(gzip_bytes(text))
    print(f"  (their words alone: {len(text) / 1e3:.1f} KB raw, {packed / 1e3:.1f} KB gzip)")


def in_browser() -> None:
    """Chromium's account of the hour-long page, its CSS and its JS, from the preview."""
    from browser_support import CHROMIUM_ARGS, chromium_path
    from playwright.sync_api import sync_playwright
    from site_under_test import serve_hour_site

    with (
        tempfile.TemporaryDirectory() as scratch,
        serve_hour_site(Path(scratch)) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        seen: list = []
        page.on("response", lambda response: seen.append(response))
        page.goto(url, wait_until="load")
        print("\nin Chromium, from dfl-audio serve (the hour-long page)")
        total = 0
        for response in seen:
            if response.request.resource_type not in ("document", "stylesheet", "script"):
                continue
            sizes = response.request.sizes()
            sent = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            total += sent
            name = response.url.rsplit("/", 1)[-1]
            encoding = response.headers.get("content-encoding", "identity")
            print(
                f"  {name:34} {len(response.body()) / 1e3:7.1f} KB decoded "
                f"{sent / 1e3:7.1f} KB transferred ({encoding}, headers included)"
            )
        print(f"  {'total':34} {'':24} {total / 1e3:7.1f} KB transferred")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cues", type=int, default=600)
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        weigh("sample show's episode page (episodes/welcome.html)", sample_page(Path(scratch)))
    page = hour_page(args.cues)
    weigh(f"episode page with an hour-long transcript ({args.cues} cues)", page)
    cue_breakdown(page)
    if args.browser:
        in_browser()
    print(f"\nbudget: {BUDGET / 1e3:.0f} KB for the page with its JS and CSS, as transferred")


if __name__ == "__main__":
    main()

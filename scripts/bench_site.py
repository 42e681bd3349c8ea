"""Time the show's website: the show page of 100 episodes (target: under 0.5 s), and the
whole site (every episode page with a one-hour transcript).

    .venv/bin/python scripts/bench_site.py [--episodes 100] [--runs 7] [--cues 600]

The episodes are bench_feed.py's (every feed field, ~1.5 KB of notes each). The show page is
timed as a run makes it: its list read from the feed (``listed_episodes``), then rendered.
Prints the minimum and median of several runs; results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_feed import BASE, make_item, make_show, report, timed

from dfl_audio.feed import newest_first, render_feed
from dfl_audio.site.assets import player_assets
from dfl_audio.site.build import render_site
from dfl_audio.site.listing import listed_episodes
from dfl_audio.site.render import render_show_page
from dfl_audio.site.views import show_view
from dfl_audio.transcript_cues import Cue

TARGET_SECONDS = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cues", type=int, default=600, help="transcript cues per episode")
    args = parser.parse_args()

    show = make_show()
    items = [  # the audio under a content key, as publish stores it (the list links its page)
        item.model_copy(update={"audio_url": f"{BASE}audio/{item.episode.slug}-{n:012x}.mp3"})
        for n, item in enumerate((make_item(n) for n in range(1, args.episodes + 1)), 1)
    ]
    image = f"{BASE}art/cover.jpg"
    feed = render_feed(show, items, image_url=image)
    about, assets = show_view(show, image), player_assets()
    cues = {
        item.episode.slug: [
            Cue(6.0 * i, 6.0 * i + 5.5, "and that is why the proof works " * 2, "Guest")
            for i in range(args.cues)
        ]
        for item in items
    }
    ordered = newest_first(items)

    print(f"Python {platform.python_version()} on {platform.machine()}, {args.runs} runs")
    page = render_show_page(about, listed_episodes(feed), assets)
    print(f"{args.episodes} episodes -> show page of {len(page) / 1e3:.1f} KB")
    show_page = timed(args.runs, lambda: render_show_page(about, listed_episodes(feed), assets))
    report(f"show page ({args.episodes} episodes)", show_page)
    listed = listed_episodes(feed)
    report(
        "  of which rendering", timed(args.runs, lambda: render_show_page(about, listed, assets))
    )
    site = render_site(show, image, ordered, cues, listed)
    size = sum(len(f.data) for f in site.files)
    print(f"whole site: {len(site.files)} files, {size / 1e6:.2f} MB ({args.cues} cues a page)")
    report(
        "whole site",
        timed(max(1, args.runs // 3), lambda: render_site(show, image, ordered, cues, listed)),
    )
    verdict = "OK" if min(show_page) < TARGET_SECONDS else "SLOWER THAN TARGET"
    print(
        f"target: the show page of {args.episodes} episodes under {TARGET_SECONDS} s -> {verdict}"
    )


if __name__ == "__main__":
    main()

"""Time render_feed (and the feed diff) on generated episodes; target: 1,000 in under 1 s.

    .venv/bin/python scripts/bench_feed.py [--episodes 1000] [--runs 7]

Each episode uses every feed field (two hosts, two guests, season/episode numbers, art,
chapters, transcript) and about 1.5 KB of show notes, so the numbers are for a feed heavier
than the real one. Prints the minimum and median of several runs; results go to
docs/benchmarks.md with the exact command.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dfl_audio.feed import diff_feeds, render_feed, summarize_feed
from dfl_audio.models.episode import Episode, EpisodeMeta
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem, TranscriptLink

BASE = "https://media.example.org/dfl/"
NOTES = "The guest explains the paper, its proofs & <caveats>, and what came after it. " * 20


def make_show() -> Show:
    return Show.model_validate(
        {
            "title": "Depth First Learning Interviews",
            "description": "Conversations with the authors of the papers DFL studies.",
            "link": "https://www.depthfirstlearning.com/",
            "language": "en",
            "category": "Science",
            "subcategory": "Mathematics",
            "explicit": False,
            "author": "Depth First Learning",
            "owner": {"name": "DFL Team", "email": "podcast@depthfirstlearning.com"},
            "artwork": "episodes/art/cover.jpg",
            "license": "CC-BY-4.0",
            "funding": {"url": "https://www.depthfirstlearning.com/support"},
            "hosts": [
                {
                    "name": "Host One",
                    "href": "https://example.org/h1",
                    "img": "https://example.org/h1.jpg",
                },
                {"name": "Host Two"},
            ],
            "public_url": BASE,
        }
    )


def make_item(n: int) -> FeedItem:
    slug = f"ep-{n:05d}"
    meta = EpisodeMeta.model_validate(
        {
            "title": f"Interview {n}: attention, memory & “generalization”",
            "date": datetime(2015, 1, 1, 9, tzinfo=UTC) + timedelta(days=3 * n),
            "guid": f"dfl-{slug}",
            "season": 1 + n // 100,
            "episode": n,
            "guests": [{"name": f"Guest {n}", "href": "https://example.org/g"}, {"name": "Zoë"}],
        }
    )
    episode = Episode(
        path=f"episodes/{slug}.md",
        slug=slug,
        meta=meta,
        notes_markdown=NOTES,
        notes_html=f"<p>{NOTES.replace('&', '&amp;').replace('<', '&lt;')}</p>",
        notes_text=NOTES.strip(),
    )
    return FeedItem(
        episode=episode,
        audio_url=f"{BASE}audio/{slug}-{n:08x}.mp3",
        audio_bytes=40_000_000 + n,
        duration=3600.0 + n / 7,
        chapters_url=f"{BASE}chapters/{slug}.json",
        transcripts=tuple(  # every format publish stores, as it lists them
            TranscriptLink(url=f"{BASE}transcripts/{slug}{suffix}")
            for suffix in (".vtt", ".srt", ".json", ".html")
        ),
        image_url=f"{BASE}art/{slug}.jpg",
    )


def timed(runs: int, work: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def report(label: str, times: list[float]) -> None:
    print(f"{label:<34} min {min(times):7.3f} s   median {statistics.median(times):7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    show = make_show()
    items = [make_item(n) for n in range(1, args.episodes + 1)]
    xml = render_feed(show, items, image_url=f"{BASE}art/cover.jpg")
    older = render_feed(show, items[:-1], image_url=f"{BASE}art/cover.jpg")

    print(f"Python {platform.python_version()} on {platform.machine()}, {args.runs} runs")
    print(f"{args.episodes} episodes -> feed of {len(xml) / 1e6:.2f} MB")
    render = timed(args.runs, lambda: render_feed(show, items, image_url=f"{BASE}art/cover.jpg"))
    report(f"render_feed ({args.episodes} episodes)", render)
    report("summarize_feed", timed(args.runs, lambda: summarize_feed(xml)))
    report("diff_feeds (old vs new)", timed(args.runs, lambda: diff_feeds(older, xml)))
    verdict = "OK" if min(render) < 1.0 else "SLOWER THAN TARGET"
    print(f"target: render {args.episodes} episodes under 1 s -> {verdict}")


if __name__ == "__main__":
    main()

"""``dfl-audio serve`` over real HTTP: what a podcast app on this machine would see."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dfl_audio.serve import Site, start

PUBLIC = "https://audio.example.org/"
FEED = (
    b'<?xml version="1.0"?><rss><channel><item><enclosure url="https://audio.example.org/'
    b'audio/ep-abc.mp3" length="40000" type="audio/mpeg"/>'
    b'<enclosure url="https://op3.dev/e/audio.example.org/audio/ep-abc.mp3"/></item></channel></rss>'
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    audio = bytes(range(256)) * 160  # 40,960 bytes: above AntennaPod's 16 KiB "unknown" size
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "ep-abc.mp3").write_bytes(audio)
    (tmp_path / "audio" / "ep-abc.vtt").write_text("WEBVTT\n")
    (tmp_path / ".dfl-index.json").write_text("{}")
    site = Site(tmp_path, "show.xml", FEED, ("https://op3.dev/e/audio.example.org/", PUBLIC))
    server, base = start(site, port=0)
    try:
        yield base, audio
    finally:
        server.shutdown()


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_feed_points_every_url_at_the_preview(served: tuple[str, bytes]) -> None:
    base, _ = served
    status, headers, body = fetch(base + "show.xml")
    assert status == 200
    assert headers["Content-Type"].startswith("application/rss+xml")
    assert b"audio.example.org" not in body
    assert body.count(f'url="{base}audio/ep-abc.mp3"'.encode()) == 2
    assert "max-age=300" in headers["Cache-Control"]


def test_audio_served_whole_with_type_length_and_etag(served: tuple[str, bytes]) -> None:
    base, audio = served
    status, headers, body = fetch(base + "audio/ep-abc.mp3")
    assert (status, headers["Content-Type"], body) == (200, "audio/mpeg", audio)
    assert headers["Content-Length"] == str(len(audio))
    assert headers["Accept-Ranges"] == "bytes"
    assert "immutable" in headers["Cache-Control"]
    status, _, body = fetch(base + "audio/ep-abc.mp3", "GET", **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")


def test_range_requests_resume_downloads(served: tuple[str, bytes]) -> None:
    base, audio = served
    status, headers, body = fetch(base + "audio/ep-abc.mp3", Range="bytes=1000-1999")
    assert status == 206
    assert body == audio[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(audio)}"
    status, _, body = fetch(base + "audio/ep-abc.mp3", Range="bytes=40000-")
    assert (status, body) == (206, audio[40000:])
    status, headers, _ = fetch(base + "audio/ep-abc.mp3", Range="bytes=99999-")
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(audio)}"


def test_head_has_headers_and_no_body(served: tuple[str, bytes]) -> None:
    base, audio = served
    status, headers, body = fetch(base + "audio/ep-abc.mp3", "HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(audio)))
    status, headers, _ = fetch(base + "audio/ep-abc.vtt", "HEAD")
    assert headers["Content-Type"].startswith("text/vtt")


@pytest.mark.parametrize("path", ["missing.mp3", ".dfl-index.json", "../etc/passwd", "audio/"])
def test_unknown_hidden_and_escaping_paths_are_404(served: tuple[str, bytes], path: str) -> None:
    base, _ = served
    assert fetch(base + path)[0] == 404


def test_only_get_and_head(served: tuple[str, bytes]) -> None:
    base, _ = served
    assert fetch(base + "show.xml", "POST")[0] == 405

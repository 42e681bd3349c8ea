"""``dfl-audio serve`` over real HTTP: what a podcast app on this machine would see."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dfl_audio.compression import gzip_bytes
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


# -- the site's files: gzip when the request accepts it ------------------------------------------

PAGE = b'<!DOCTYPE html><p><a href="https://audio.example.org/audio/ep-abc.mp3">listen</a></p>' * 40
SITE_FILES = {  # key -> its bytes in the folder (plain: a folder keeps no headers)
    "index.html": PAGE,
    "episodes/ep.html": PAGE + b"<!-- the episode -->",
    "sitemap.xml": b"<urlset>"
    + b"<url><loc>https://audio.example.org/index.html</loc></url>" * 20
    + b"</urlset>",
    "assets/player-0123456789ab.js": b"(function () { 'use strict'; })();\n" * 50,
    "assets/player-0123456789ab.css": b"body { margin: 0; }\n" * 50,
}


@pytest.fixture
def site_served(tmp_path: Path) -> Iterator[str]:
    for key, data in {**SITE_FILES, "audio/ep-abc.html": PAGE, "audio/ep-abc.mp3": PAGE}.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)
    site = Site(tmp_path, "show.xml", FEED, (PUBLIC,))
    server, base = start(site, port=0)
    try:
        yield base
    finally:
        server.shutdown()
    for key, data in SITE_FILES.items():  # serving never changes the folder
        assert (tmp_path / key).read_bytes() == data


def expected_site_file(key: str, base: str) -> bytes:
    """What the preview serves for ``key``: pages and sitemap with the public URL made local."""
    return SITE_FILES[key].replace(PUBLIC.encode(), base.encode())


@pytest.mark.parametrize("key", sorted(SITE_FILES))
def test_site_files_are_gzipped_when_the_request_accepts_gzip(site_served: str, key: str) -> None:
    status, headers, body = fetch(site_served + key, **{"Accept-Encoding": "br, gzip, deflate"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert headers["Content-Length"] == str(len(body))
    assert gzip.decompress(body) == expected_site_file(key, site_served)  # rewritten, then gzipped
    assert body == gzip_bytes(expected_site_file(key, site_served))
    assert len(body) < len(expected_site_file(key, site_served))


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "gzip;q=0, *", "br"])
def test_site_files_are_plain_when_gzip_is_not_accepted(
    site_served: str, accept: str | None
) -> None:
    for key in SITE_FILES:
        status, headers, body = fetch(
            site_served + key, **({"Accept-Encoding": accept} if accept else {})
        )
        assert status == 200, key
        assert "Content-Encoding" not in headers, key
        assert "Accept-Encoding" in headers["Vary"], key  # a cache must not mix the two
        assert body == expected_site_file(key, site_served), key


@pytest.mark.parametrize("key", ["show.xml", "audio/ep-abc.mp3", "audio/ep-abc.html"])
def test_feed_audio_and_transcripts_are_never_encoded(site_served: str, key: str) -> None:
    status, headers, _ = fetch(site_served + key, **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert "Content-Encoding" not in headers and "Vary" not in headers


def test_gzipped_and_plain_pages_have_their_own_etags_and_ranges(site_served: str) -> None:
    url = site_served + "episodes/ep.html"
    _, zipped, packed = fetch(url, **{"Accept-Encoding": "gzip"})
    _, plain, _ = fetch(url)
    assert zipped["ETag"] != plain["ETag"]
    status, _, body = fetch(url, **{"Accept-Encoding": "gzip", "If-None-Match": zipped["ETag"]})
    assert (status, body) == (304, b"")
    status, headers, part = fetch(url, **{"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert (status, part) == (206, packed[:10])  # a range of the encoded body, as HTTP says
    assert headers["Content-Encoding"] == "gzip"
    status, headers, body = fetch(url, "HEAD", **{"Accept-Encoding": "gzip"})
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(packed)))

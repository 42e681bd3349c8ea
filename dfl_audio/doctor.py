"""``dfl-audio doctor``: what would stop a publish, found before a publish.

Each check says what it found and, when it fails, what to fix (permission, ACL, bucket
policy, CORS) — never printing credentials.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from dfl_audio.config import Overrides, effective_show
from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import DflAudioError
from dfl_audio.models import Show
from dfl_audio.storage import Storage, open_storage

PROBE_PREFIX = "dfl-audio-doctor/"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def diagnose(project: Project, overrides: Overrides) -> Iterator[Check]:
    """Run every check in order; later checks are skipped when an earlier one makes them moot."""
    yield _ffmpeg_check()
    parsed = read_show(project)
    if parsed.item is None:
        yield Check("show", False, str(parsed.problems[0]))
        return
    try:
        show = effective_show(parsed.item, overrides)
        storage = open_storage(show.storage.location, root=project.root, settings=show.storage)
    except DflAudioError as exc:
        yield Check("storage", False, str(exc))
        return
    yield from storage_checks(show, storage)


def _ffmpeg_check() -> Check:
    from dfl_audio.ffmpeg import ffmpeg_info

    try:
        info = ffmpeg_info()
    except DflAudioError as exc:
        return Check("ffmpeg", False, str(exc))
    return Check("ffmpeg", True, f"{info.version} ({info.source}: {info.path})")


def storage_checks(show: Show, storage: Storage) -> Iterator[Check]:
    """Writable, readable back, and publicly downloadable at the show's public URL."""
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}.txt"
    data = b"dfl-audio doctor probe\n"
    try:
        storage.put_bytes(key, data)
    except DflAudioError as exc:
        yield Check("storage writable", False, str(exc))
        return
    yield Check("storage writable", True, f"wrote {key} to {storage.description}")
    try:
        if show.storage.location.startswith("s3://"):
            yield public_get_check(show.public_url + key, data)
        else:
            yield Check(
                "public URL",
                True,
                f"local folder: preview with dfl-audio serve; deploy it at {show.public_url}",
            )
    finally:
        storage.delete(key)


def public_get_check(url: str, expected: bytes) -> Check:
    """An anonymous GET, as a podcast app makes it, with an Origin as a web player sends."""
    request = urllib.request.Request(url, headers={"Origin": "https://example.org"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            cors = response.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as exc:
        hint = (
            (
                "allow anonymous s3:GetObject with a bucket policy (or a public-read ACL), "
                "or put a CDN in front and set public_url to it"
            )
            if exc.code == 403
            else ("public_url does not serve the bucket's keys: check it ends at the prefix")
        )
        return Check("public GET", False, f"{url} answered {exc.code}: {hint}")
    except (urllib.error.URLError, TimeoutError) as exc:
        return Check("public GET", False, f"{url} unreachable: {exc}")
    if body != expected:
        return Check("public GET", False, f"{url} served other bytes than were uploaded")
    if not cors:
        return Check(
            "public GET",
            True,
            f"{url} ok; no CORS header: add a CORS rule allowing "
            "GET from any origin so web players can load transcripts and chapters",
        )
    return Check("public GET", True, f"{url} ok, CORS allows {cors}")

"""``dfl-audio doctor``: what would stop a publish, found before a publish.

Each check says what it found and, when it fails, what to fix (permission, ACL, bucket
policy, CORS) — never printing credentials.
"""

from __future__ import annotations

import os
import shlex
import stat
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dfl_audio.config import Overrides, open_show
from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import DflAudioError
from dfl_audio.models.show import Show
from dfl_audio.storage import LocalStorage, Storage

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
        show, storage = open_show(project, overrides)
    except DflAudioError as exc:
        yield Check("storage", False, str(exc))
        return
    yield from storage_checks(show, storage)


def _ffmpeg_check() -> Check:
    from dfl_audio.ffmpeg_locate import ffmpeg_info

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
        if isinstance(storage, LocalStorage):
            yield readable_by_others_check(storage.root, storage.path_for(key))
            yield Check(
                "public URL",
                True,
                f"local folder: preview with dfl-audio serve; deploy it at {show.public_url}",
            )
        else:
            yield public_get_check(show.public_url + key, data)
    finally:
        storage.delete(key)


def readable_by_others_check(root: Path, probe: Path) -> Check:
    """A folder copied to a web server is read by another user: every file must be readable
    by others (and every folder searchable), and new files must come out that way too."""
    found = []
    private = list(_private_entries(root, skip=probe.parent))
    if private:
        more = f" (and {len(private) - 1} more)" if len(private) > 1 else ""
        found.append(
            f"{private[0]} is not readable by others (mode {_mode(private[0]):04o}){more}: "
            "a web server running as another user will answer 403; fix with: "
            f"chmod -R a+rX {shlex.quote(str(root))}"
        )
    if not _mode(probe) & stat.S_IROTH:
        found.append(
            f"new files are created mode {_mode(probe):04o}, private to you: "
            "run dfl-audio with umask 022"
        )
    if found:
        return Check("storage permissions", False, "; ".join(found))
    return Check("storage permissions", True, f"every file in {root} is readable by others")


def _private_entries(root: Path, skip: Path) -> Iterator[Path]:
    """Published files not readable by others, and folders others cannot list or enter."""
    searchable = stat.S_IROTH | stat.S_IXOTH
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != skip)
        if _mode(here) & searchable != searchable:
            yield here
        for file_name in sorted(files):
            path = here / file_name
            if not file_name.startswith(".") and not _mode(path) & stat.S_IROTH:
                yield path


def _mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o777  # gone meanwhile: nothing to report


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

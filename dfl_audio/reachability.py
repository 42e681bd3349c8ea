"""What listeners will get: the feed and new audio fetched anonymously at their public URLs.

A publish to a private bucket succeeds (our credentials may write and read), yet every podcast
app is answered 403. So after a run that wrote something, each public URL is asked once, as an
app asks, with no credentials: a ``HEAD`` (a 1-byte ranged ``GET`` where HEAD is refused),
in parallel, all within one short timeout. What would stop a listener comes back as a
sentence that names the URL and the fix; the caller decides how to show it.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dfl_audio.mediatypes import MEDIA_TYPES

if TYPE_CHECKING:
    from dfl_audio.models.show import Show
    from dfl_audio.publish import RunResult

# One wait for the whole check: a public URL nobody answers must not hold a run up longer.
TIMEOUT_S = 5.0
# New enclosures checked per run: all sit behind the same bucket policy or web server, so a
# first publish of a back catalogue does not need a thousand requests to say so.
MAX_AUDIO_CHECKED = 16

Kind = Literal["feed", "audio"]


@dataclass(frozen=True)
class Target:
    """A public URL and what a podcast app expects to find there."""

    url: str
    kind: Kind


@dataclass(frozen=True)
class Answer:
    """What the server said: a status and a Content-Type, or why it said nothing."""

    status: int | None
    content_type: str | None
    failure: str | None = None


def listener_warnings(show: Show, result: RunResult, wanted: bool | None) -> list[str]:
    """Check what a run wrote, when it wrote anything and checking is on.

    ``wanted`` None means: check S3 storage, whose objects are public as soon as they are
    stored; a local folder reaches its public URL only when someone deploys it, so checking
    right after writing it would only report the deploy still to come.
    """
    wrote = result.feed_changed or bool(result.published)
    on_s3 = show.storage.location.startswith("s3://")
    if result.dry_run or not wrote or not (on_s3 if wanted is None else wanted):
        return []
    # The real URLs, not the analytics prefix's: a check must not count as a download.
    audio = [show.public_url + record.audio_key for record in result.published]
    return check(targets(show.feed_url, audio), show.storage.location)


def targets(feed_url: str, audio_urls: Sequence[str]) -> list[Target]:
    """The feed and (at most :data:`MAX_AUDIO_CHECKED`) new enclosures, http(s) only."""
    wanted = [Target(feed_url, "feed")]
    wanted += [Target(url, "audio") for url in audio_urls[:MAX_AUDIO_CHECKED]]
    return [target for target in wanted if target.url.startswith(("http://", "https://"))]


def check(
    found: Sequence[Target], storage_location: str, timeout: float | None = None
) -> list[str]:
    """One warning per URL a listener could not use, with the fix; empty when all is well."""
    timeout = TIMEOUT_S if timeout is None else timeout
    answers = fetch_all([target.url for target in found], timeout)
    warnings = []
    for target in found:
        problem = _problem(target, answers.get(target.url), timeout)
        if problem is not None:
            cause, what = problem
            fix = _fix(cause, storage_location)
            warnings.append(f"listeners cannot use {target.url}: {what}; {fix}")
    return warnings


def fetch_all(urls: Sequence[str], timeout: float) -> dict[str, Answer]:
    """Ask every URL at once; a URL with no answer when ``timeout`` is up is left out.

    Daemon threads, not an executor: a DNS lookup cannot be interrupted, and a thread left
    waiting on one must not keep the process from exiting.
    """
    deadline = time.monotonic() + timeout
    answers: dict[str, Answer] = {}

    def ask(url: str) -> None:
        answer = fetch(url, deadline)
        if answer is not None:
            answers[url] = answer

    threads = [
        threading.Thread(target=ask, args=(url,), daemon=True) for url in dict.fromkeys(urls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(answers)


def fetch(url: str, deadline: float) -> Answer | None:
    """HEAD, or a 1-byte ranged GET when HEAD is refused; None when time ran out.

    Any refusal, not only 405/501: some servers and CDNs (and moto) judge HEAD by other
    rules than GET, and a podcast app downloads with GET. No credentials are ever sent.
    """
    answer = _request(urllib.request.Request(url, method="HEAD"), deadline)
    if answer is not None and answer.status is not None and answer.status >= 400:
        ranged = urllib.request.Request(url, headers={"Range": "bytes=0-0"}, method="GET")
        answer = _request(ranged, deadline)
    return answer


def _request(request: urllib.request.Request, deadline: float) -> Answer | None:
    request.add_header("User-Agent", "dfl-audio (public URL check)")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    try:
        with urllib.request.urlopen(request, timeout=remaining) as response:
            return Answer(response.status, response.headers.get("Content-Type"))
    except urllib.error.HTTPError as exc:
        with exc:  # an error page's body is never read: close its connection
            return Answer(exc.code, exc.headers.get("Content-Type") if exc.headers else None)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return None
        return Answer(None, None, f"unreachable ({_reason(exc.reason)})")
    except TimeoutError:
        return None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Answer(None, None, f"unreachable ({_reason(exc)})")


def _reason(reason: object) -> str:
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


Cause = Literal["denied", "missing", "type", "status", "unreachable"]


def _problem(target: Target, answer: Answer | None, timeout: float) -> tuple[Cause, str] | None:
    """Why this answer would fail a podcast app fetching this kind of file, or None."""
    if answer is None:
        return "unreachable", f"no answer within {timeout:g} s"
    if answer.failure or answer.status is None:
        return "unreachable", answer.failure or "no answer"
    if answer.status in (401, 403):
        return "denied", f"it answers {answer.status} to an anonymous request"
    if answer.status in (404, 410):
        return "missing", f"it answers {answer.status} (not found)"
    if answer.status not in (200, 206):
        return "status", f"it answers {answer.status}"
    media_type = (answer.content_type or "").split(";")[0].strip().lower()
    expected = MEDIA_TYPES[".xml"] if target.kind == "feed" else MEDIA_TYPES[".mp3"]
    if ("xml" in media_type) if target.kind == "feed" else (media_type == expected):
        return None
    shown = media_type or "no Content-Type"
    return "type", f"it is served as {shown}, podcast apps expect {expected}"


def _fix(cause: Cause, storage_location: str) -> str:
    """The one thing to do about it, for S3 or for a folder deployed on a web server."""
    on_s3 = storage_location.startswith("s3://")
    if cause == "denied" and on_s3:
        return f"allow anonymous reads with this bucket policy: {bucket_policy(storage_location)}"
    if cause == "denied":
        return "let the web server serving the storage folder answer anonymous requests"
    if cause == "missing" and on_s3:
        return f"public_url must serve the keys of {storage_location} (does it end at the prefix?)"
    if cause == "missing":
        return "copy the storage folder to the web server at public_url, or fix public_url"
    if cause == "type" and on_s3:
        return "the object's Content-Type was changed after upload (a CDN rule?): republish it"
    if cause == "type":
        return "make the web server send .mp3 as audio/mpeg and .xml as application/rss+xml"
    return "check public_url, or pass --no-check-public when offline"


def bucket_policy(storage_location: str) -> str:
    """The statement that lets anyone GET the objects under the storage prefix (as doctor
    checks); one line, so it can be pasted into ``aws s3api put-bucket-policy``.

    >>> bucket_policy("s3://dfl-audio/podcast/")  # doctest: +NORMALIZE_WHITESPACE
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
      "Action": "s3:GetObject", "Resource": "arn:aws:s3:::dfl-audio/podcast/*"}]}'
    """
    path = storage_location.removeprefix("s3://").strip("/")
    bucket, _, prefix = path.partition("/")
    resource = f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": resource,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

"""The value rules of the edited files: what a text, URL, date or path may be.

Each rule is a plain function that raises ``ValueError`` with the message the editor sees,
wrapped once in an ``Annotated`` field type; :mod:`.show` and :mod:`.episode` build their
models from these types on :class:`StrictModel`, so a rule and its message live in one place
whichever file the field is in.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StringConstraints,
)

# Tab, newline and carriage return are the only control characters XML 1.0 allows; C1
# controls (U+0080-U+009F) are legal XML but clients read them as Windows-1252 text.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """Refuse characters XML cannot carry; strip the spaces feeds must not have."""
    bad = CONTROL_CHARS.search(value)
    if bad:
        raise ValueError(f"contains control character U+{ord(bad.group()):04X}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _max_4000_bytes(value: str) -> str:
    """Apple and PSP-1 cap descriptions at 4000 bytes of UTF-8."""
    size = len(value.encode())
    if size > 4000:
        raise ValueError(f"is {size} bytes; at most 4000 are allowed")
    return value


def _https_url(value: str) -> str:
    """Accept only absolute https: URLs (Podcasting 2.0 requires https for every url/href)."""
    if not re.fullmatch(r"https://[^\s/?#]+[^\s]*", value):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return value


def _https_or_loopback(value: str) -> str:
    """https, or http only on loopback (previews and tests)."""
    if not (value.startswith("http://") and _is_loopback(value)):
        try:
            _https_url(value)
        except ValueError:
            raise ValueError(
                f"must be an https:// URL (http:// only on localhost, 127.0.0.0/8 or [::1]), "
                f"got {_masked(value)!r}"
            ) from None
    return value


def _public_base_url(value: str) -> str:
    """The storage's public URL: https, or http on loopback for previews and tests."""
    _https_or_loopback(value)
    _no_userinfo(value)
    return value if value.endswith("/") else value + "/"


def _no_userinfo(value: str) -> str:
    """A URL that would carry a password into the feed, a message or git: refuse it."""
    if "@" in urlsplit(value).netloc:
        raise ValueError(
            "must not contain a user name or password (user:password@); S3 credentials "
            "come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile"
        )
    return value


def _masked(url: str) -> str:
    """The URL as it may be shown: a ``user:password@`` in it becomes ``***@``.

    >>> _masked("http://me:s%2Fcret@example.com/x")
    'http://***@example.com/x'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _is_loopback(url: str) -> bool:
    """Is the URL's host exactly a loopback name or address (not merely starting like one)?

    >>> [_is_loopback(u) for u in ("http://127.0.0.1:8000/", "http://[::1]/", "http://localhost")]
    [True, True, True]
    >>> [_is_loopback(u) for u in ("http://127.0.0.1.evil.example/", "http://127.0.0.1@evil/")]
    [False, False]
    """
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when the port is not a number
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.username is None and (host == "localhost" or _is_loopback_address(host))


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _web_url(value: str) -> str:
    """A page or endpoint URL: https, or http only on loopback (previews and tests), no
    ``user:password@``. Unlike :func:`_public_base_url` the URL is kept exactly as written."""
    _https_or_loopback(value)
    if "@" in urlsplit(value).netloc:
        raise ValueError("must not contain a user name or password (user:password@)")
    return value


# RFC 5545 RECUR rule parts; podcast:updateFrequency's rrule is one (FREQ required).
_RRULE_PARTS = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
     "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
)  # fmt: skip
_RRULE_FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _rrule(value: str) -> str:
    """An RFC 5545 recurrence rule such as ``FREQ=WEEKLY;BYDAY=TU`` (no ``RRULE:`` prefix).

    >>> _rrule("FREQ=MONTHLY;INTERVAL=2")
    'FREQ=MONTHLY;INTERVAL=2'
    """
    parts: dict[str, str] = {}
    for part in value.split(";"):
        name, equals, setting = part.partition("=")
        if not equals or not setting or name not in _RRULE_PARTS or name in parts:
            raise ValueError(
                f"must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=TU, got {value!r} "
                f"({part!r} is not a NAME=VALUE part it allows, or is repeated)"
            )
        parts[name] = setting
    if parts.get("FREQ") not in _RRULE_FREQS:
        raise ValueError(f"must set FREQ to one of {', '.join(_RRULE_FREQS)}, got {value!r}")
    return value


def _language_code(value: str) -> str:
    """An ISO 639 code, optionally with a region: what ``<language>`` and Apple expect."""
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,8})*", value):
        raise ValueError(f"must be an ISO 639 language code such as en or en-US, got {value!r}")
    return value


def _repo_path(value: str) -> str:
    """A path relative to the repository root that cannot climb out of it."""
    if not value.strip():
        raise ValueError("must be a path to a file in the repository, not empty")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(
            f"must be a path inside the repository (no '..' or leading '/'): {value!r}"
        )
    return str(path)


def _storage_location(value: str) -> str:
    """A folder (relative to the repository, or absolute) or ``s3://bucket/prefix``."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme and scheme.group(1).lower() != "s3":
        raise ValueError(
            f"must be a folder or s3://bucket/prefix, got {value!r} ({scheme.group(1)}:// is "
            "not supported)"
        )
    if not value.strip():
        raise ValueError("must be a folder or s3://bucket/prefix, not empty")
    return value


def _clip_choice(value: object) -> str | Literal[False]:
    """An episode's intro or outro: a clip path, or ``false`` for none."""
    if value is False:
        return False
    if isinstance(value, str):
        return _repo_path(value)
    raise ValueError(f"must be a path to an audio clip, or false for none; got {value!r}")


def parse_timestamp(value: object) -> float:
    """Seconds from a number or ``[HH:]MM:SS[.fff]`` text.

    >>> parse_timestamp("1:02:03.5")
    3723.5
    >>> parse_timestamp("02:30")
    150.0
    >>> parse_timestamp(12)
    12.0
    """
    if isinstance(value, bool):
        raise ValueError("must be seconds or HH:MM:SS")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(r"(\d+:){1,2}\d+(\.\d+)?", value.strip()):
        seconds = 0.0
        for part in value.strip().split(":"):
            seconds = seconds * 60 + float(part)
    else:
        raise ValueError(f"must be seconds or HH:MM:SS, got {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _aware_datetime(value: object) -> datetime:
    """A date with a time and a time zone: feeds carry RFC 2822 dates, which need both."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(
                f"must be a date and time with a time zone, e.g. 2021-03-04 10:00:00 -05:00; "
                f"got {value!r}{_why_not_a_date(str(exc))}"
            ) from None
    else:
        raise ValueError(
            "must be a date and time with a time zone, e.g. 2021-03-04 10:00:00 -05:00"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("needs a time zone, e.g. 2021-03-04 10:00:00 -05:00")
    return parsed


def _why_not_a_date(reason: str) -> str:
    """The part of Python's reason an editor can act on: a day, month or offset out of range.

    >>> _why_not_a_date("day is out of range for month")
    ' (day is out of range for month)'
    >>> _why_not_a_date("Invalid isoformat string: 'soon'")
    ''
    """
    if reason.startswith("offset must be"):
        return " (the time zone offset must be less than 24 hours)"
    return "" if reason.startswith("Invalid isoformat") else f" ({reason})"


def _image_ref(value: str) -> str:
    """A chapter image: an https URL used as it is, or a repository image publish stores."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value):
        return _https_url(value)
    return _repo_path(value)


def is_remote_image(img: str) -> bool:
    """Is ``img`` a URL (used as it is) rather than a repository path (stored by publish)?"""
    return img.startswith("https://")


Text = Annotated[str, AfterValidator(clean_text)]
LongText = Annotated[Text, AfterValidator(_max_4000_bytes)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
WebUrl = Annotated[str, AfterValidator(_web_url)]
Text128 = Annotated[str, StringConstraints(max_length=128), AfterValidator(clean_text)]
RepoPath = Annotated[str, AfterValidator(_repo_path)]
Timestamp = Annotated[float, BeforeValidator(parse_timestamp)]
ClipChoice = Annotated[str | Literal[False], PlainValidator(_clip_choice)]
AwareDatetime = Annotated[datetime, BeforeValidator(_aware_datetime)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
LanguageCode = Annotated[str, AfterValidator(_language_code)]
Rrule = Annotated[str, AfterValidator(_rrule)]
PublicBaseUrl = Annotated[str, AfterValidator(_public_base_url)]
StorageLocation = Annotated[Text, AfterValidator(_storage_location)]
# An https URL that cannot carry credentials (S3 keys come from the environment or a profile).
HttpsUrlNoCredentials = Annotated[HttpsUrl, AfterValidator(_no_userinfo)]
ImageRef = Annotated[str, AfterValidator(_image_ref)]


class StrictModel(BaseModel):
    """The base of every edited file's model: unknown fields refused, values frozen."""

    # NaN and infinity pass every ge/le bound and crash later (tags, RSS durations): refuse.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, allow_inf_nan=False
    )

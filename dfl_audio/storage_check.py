"""Does the storage still hold what the state says was published? Checked on every run.

An object deleted or altered behind our back (a cleanup script, a bucket lifecycle rule, a
hand edit in the storage folder) must be published again, never left referenced by the feed.
The check costs one listing (one LIST request per 1,000 keys on S3, a stat per file locally)
and compares each recorded object with what the listing says: present, the recorded size, and
the checksum whenever the listing carries one (the SHA-256 locally, the ETag on S3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dfl_audio.records import Published
from dfl_audio.storage_base import StoredObject

Inventory = Mapping[str, StoredObject]


def audio_damage(record: Published, inventory: Inventory) -> str | None:
    """Why the episode's stored MP3 cannot be trusted any more, or None when it is intact."""
    found = inventory.get(record.audio_key)
    if found is None:
        return f"its audio {record.audio_key} is missing from the storage"
    if found.size != record.audio_bytes:
        return (
            f"its audio {record.audio_key} was altered in the storage ({found.size} bytes, "
            f"published {record.audio_bytes})"
        )
    if found.sha256 is not None and found.sha256 != record.audio_sha256:
        return f"its audio {record.audio_key} was altered in the storage (its SHA-256 differs)"
    if found.sha256 is None and record.audio_etag and found.etag != record.audio_etag:
        return f"its audio {record.audio_key} was altered in the storage (its ETag differs)"
    return None


def holds(found: StoredObject | None, size: int, sha256: str, md5: Callable[[], str]) -> bool:
    """The skip rule against a listing: is this content stored under the key already?

    A listing gives the SHA-256 locally; on S3 it gives the ETag, which is the MD5 of a
    single-part upload (the side files are all small) and opaque otherwise (then the size is
    what can be told, and the content-addressed key names the content).
    """
    if found is None or found.size != size:
        return False
    if found.sha256 is not None:
        return found.sha256 == sha256
    if found.etag and "-" not in found.etag:
        return found.etag == md5()
    return True

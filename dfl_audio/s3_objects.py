"""What dfl-audio's objects look like on S3: the headers each write carries, the headers of a
conditional write (the feed), and how a HEAD response reads back as a :class:`StoredObject`.

Pure functions over the dictionaries boto3 takes and returns, kept apart from the adapter
(:mod:`dfl_audio.s3`) that does the requests, so the wire form is read and tested on its own.
"""

from __future__ import annotations

from typing import Any

from dfl_audio.mediatypes import cache_control_for, content_type_for
from dfl_audio.storage_base import StoredObject

SHA256_META = "sha256"  # stored as x-amz-meta-sha256


def stored_object(key: str, meta: dict[str, Any]) -> StoredObject:
    """What a HEAD response says of ``key``: its size, SHA-256 metadata and bare ETag."""
    return StoredObject(
        key=key,
        size=int(meta["ContentLength"]),
        sha256=meta.get("Metadata", {}).get(SHA256_META),
        etag=unquote_etag(meta["ETag"]) if meta.get("ETag") else None,
    )


def object_headers(key: str, sha256: str, content_encoding: str | None = None) -> dict[str, Any]:
    """The PutObject arguments every write carries: type and caching by ``key``'s suffix, and
    the SHA-256 that later runs compare instead of downloading."""
    headers: dict[str, Any] = {
        "ContentType": content_type_for(key),
        "CacheControl": cache_control_for(key),
        "Metadata": {SHA256_META: sha256},
    }
    if content_encoding is not None:
        headers["ContentEncoding"] = content_encoding
    return headers


def write_conditions(expected_etag: str | None) -> list[dict[str, Any]]:
    """The conditional headers to try in turn: RGW wants the bare ETag, RFC 9110 quotes it."""
    if expected_etag is None:
        return [{"IfNoneMatch": "*"}]
    return [{"IfMatch": expected_etag}, {"IfMatch": f'"{expected_etag}"'}]


def etag_is_md5(meta: dict[str, Any]) -> bool:
    """Multipart ETags end in ``-N``; SSE-KMS and SSE-C ETags are not the MD5 either."""
    etag = str(meta.get("ETag", ""))
    encrypted = str(meta.get("ServerSideEncryption", "")).startswith("aws:kms")
    return bool(etag) and "-" not in etag and not encrypted and "SSECustomerAlgorithm" not in meta


def unquote_etag(etag: str) -> str:
    """The ETag without the quotes S3 sends it in.

    >>> unquote_etag('"9b2cf535f27731c974343645a3985328"')
    '9b2cf535f27731c974343645a3985328'
    """
    return etag.strip('"')

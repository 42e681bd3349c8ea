"""⑤ S3-compatible storage: the adapter. It, :mod:`dfl_audio.s3_client` and
:mod:`dfl_audio.s3_errors` are the only modules that import boto3 or botocore.

The client is injected (tests pass a moto or Ceph RGW client); :func:`open_s3` gets the
production one from :mod:`dfl_audio.s3_client`, with botocore's ``standard`` retry mode, which
already retries throttling, 5xx and dropped connections with backoff. Every boto3/botocore
error leaves this module as a :class:`StorageError` that names the bucket and key and says what
to fix, never a credential (the wording and the redaction: :mod:`dfl_audio.s3_errors`).

Observed server behaviour (boto3 1.44, see docs and tests/integration):

* Ceph RGW 16.2 and moto honour ``If-None-Match: *`` and ``If-Match`` on PutObject (412).
  RGW compares ``If-Match`` literally with the *unquoted* ETag, so a quoted ETag never
  matches there; AWS and moto accept both forms. We send it unquoted and, on a 412 while the
  object still carries the expected ETag, retry once quoted (for servers that want RFC quotes).
* Servers that ignore conditional headers (s3rver) cannot be caught on a create race; a HEAD
  before every If-Match write still turns an ordinary stale read into a ConflictError, and
  :meth:`S3Storage.probe_conditional_writes` tells ``doctor`` whether the server enforces them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from dfl_audio.errors import ConflictError, StorageError
from dfl_audio.fsutil import file_digest, sha256_bytes
from dfl_audio.models.show import StorageSettings
from dfl_audio.s3_client import make_client, make_transfer_config, parse_s3_url
from dfl_audio.s3_errors import error_code, explain, mask_url_userinfo, redact, redact_chain
from dfl_audio.s3_objects import (
    etag_is_md5,
    object_headers,
    stored_object,
    unquote_etag,
    write_conditions,
)
from dfl_audio.storage_base import Progress, StoredObject, check_key, conflict, same_content

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

_PRECONDITION_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def open_s3(location: str, settings: StorageSettings) -> S3Storage:
    bucket, prefix = parse_s3_url(location)
    return S3Storage(make_client(settings), bucket, prefix)


class S3Storage:
    """Objects in ``bucket`` under ``prefix``; SHA-256 in metadata, verified after each put."""

    keeps_content_encoding = True  # the site's pages and assets are stored gzip-encoded

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        transfer_config: TransferConfig | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.transfer_config = transfer_config or make_transfer_config()
        self.description = f"s3://{bucket}/{self.prefix}"

    @property
    def endpoint_url(self) -> str:
        """The endpoint as shown and recorded: without a ``user:password@`` someone put in it."""
        return mask_url_userinfo(self.client.meta.endpoint_url)

    def identity(self, *, create: bool) -> str:
        """The bucket, prefix and endpoint: the same objects whichever machine publishes."""
        return f"{self.description} at {self.endpoint_url}"

    def full_key(self, key: str) -> str:
        """The object key in the bucket: the storage prefix joined to ``key``."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def head(self, key: str) -> StoredObject | None:
        where = self._where(key)
        with self._errors(f"Failed to read {where}", key):
            return self._head_object(key, self.full_key(key))

    def put_file(
        self, key: str, path: Path, *, sha256: str, progress: Progress | None = None
    ) -> tuple[StoredObject, bool]:
        full = self.full_key(key)
        action = f"Failed to upload {path} to {self.bucket}/{full}"
        with self._errors(action, key):
            size = path.stat().st_size
            existing = self._head_object(key, full)
            if same_content(existing, size, sha256):
                assert existing is not None
                return existing, False
            self._upload_file(full, path, sha256, progress)
            meta = self._head(full)
            return self._verify(
                action, key, meta, size, sha256, lambda: file_digest(path, "md5")
            ), True

    def put_bytes(
        self, key: str, data: bytes, *, content_encoding: str | None = None
    ) -> tuple[StoredObject, bool]:
        full = self.full_key(key)
        action = f"Failed to upload {len(data)} bytes to {self.bucket}/{full}"
        sha256 = sha256_bytes(data)
        with self._errors(action, key):
            existing = self._head_object(key, full)
            if same_content(existing, len(data), sha256):
                assert existing is not None
                return existing, False
            headers = object_headers(key, sha256, content_encoding)
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data, **headers)
            meta = self._head(full)
            md5 = hashlib.md5(data).hexdigest()
            stored = self._verify(action, key, meta, len(data), sha256, lambda: md5)
            assert meta is not None  # _verify refuses a missing object
            if content_encoding is not None and meta.get("ContentEncoding") != content_encoding:
                raise StorageError(
                    f"{action}: verification failed: Content-Encoding "
                    f"{meta.get('ContentEncoding')}, expected {content_encoding}"
                )
            return stored, True

    def get(self, key: str) -> tuple[bytes, str] | None:
        full = self.full_key(key)
        with self._errors(f"Failed to read {self.bucket}/{full}", key):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=full)
            except ClientError as exc:
                if error_code(exc) in _MISSING_CODES:
                    return None
                raise
            return response["Body"].read(), unquote_etag(response["ETag"])

    def get_file(self, key: str, dest: Path) -> None:
        full = self.full_key(key)
        with self._errors(f"Failed to download {self.bucket}/{full}", key):
            self.client.download_file(self.bucket, full, str(dest), Config=self.transfer_config)

    def put_conditional(self, key: str, data: bytes, *, expected_etag: str | None) -> str:
        """Write only over ``expected_etag`` (or only a new object when None); see module doc."""
        full = self.full_key(key)
        where = f"{self.bucket}/{full}"
        sha256 = sha256_bytes(data)
        with self._errors(f"Failed to write {where}", key):
            if expected_etag is not None:
                self._check_current(where, full, expected_etag)
            for condition in write_conditions(expected_etag):
                try:
                    response = self.client.put_object(
                        Bucket=self.bucket,
                        Key=full,
                        Body=data,
                        **condition,
                        **object_headers(key, sha256),
                    )
                    return unquote_etag(response["ETag"])
                except ClientError as exc:
                    if error_code(exc) not in _PRECONDITION_CODES | _MISSING_CODES:
                        raise
                    current = self._current_etag(full)
                    if current != expected_etag:
                        raise conflict(where, expected_etag, current) from exc
                    log.debug("%s: 412 although the ETag matches; retrying quoted", where)
            raise StorageError(
                f"Failed to write {where}: the server refused the conditional write although "
                f"the object is as expected (ETag {expected_etag}); it does not support "
                "conditional writes (If-Match / If-None-Match)"
            )

    def delete(self, key: str) -> None:
        full = self.full_key(key)
        with self._errors(f"Failed to delete {self.bucket}/{full}", key):
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def list_keys(self, prefix: str = "") -> list[str]:
        return sorted(self.inventory(prefix))

    def inventory(self, prefix: str = "") -> dict[str, StoredObject]:
        """One LIST request per 1,000 keys: sizes and ETags (no SHA-256: that is metadata)."""
        base = f"{self.prefix}/" if self.prefix else ""
        with self._errors(f"Failed to list {self.bucket}/{base}{prefix}", None):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base + prefix
            )
            found = {}
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(base)
                    etag = unquote_etag(item["ETag"]) if "ETag" in item else None
                    found[key] = StoredObject(key=key, size=item["Size"], sha256=None, etag=etag)
        return found

    def probe_conditional_writes(self) -> bool:
        """Whether the server refuses a second ``If-None-Match: *`` create (for ``doctor``)."""
        key = f"dfl-probe-{uuid.uuid4().hex}.txt"
        self.put_conditional(key, b"probe", expected_etag=None)
        try:
            self.put_conditional(key, b"probe again", expected_etag=None)
        except ConflictError:
            return True
        finally:
            self.delete(key)
        return False

    def pending_uploads(self, key: str) -> list[str]:
        """Upload ids of unfinished multipart uploads of ``key`` (left by a crash)."""
        full = self.full_key(key)
        with self._errors(f"Failed to list multipart uploads of {self.bucket}/{full}", key):
            response = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
        return [
            upload["UploadId"] for upload in response.get("Uploads", []) if upload["Key"] == full
        ]

    # -- internals ----------------------------------------------------------------------------

    def _where(self, key: str) -> str:
        return f"{self.bucket}/{self.full_key(key)}"

    def _head(self, full: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=full))
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            if error_code(exc).isdigit():  # a HEAD error has no body, so no reason: ask again
                self._diagnose(full)
            raise

    def _diagnose(self, full: str) -> None:
        """A one-byte GET fails like the HEAD did, but its error body says why (a wrong
        secret, the clock, the region...); its ClientError replaces the bare status code."""
        try:
            self.client.get_object(Bucket=self.bucket, Key=full, Range="bytes=0-0")
        except ClientError as exc:
            if error_code(exc) not in _MISSING_CODES:
                raise

    def _head_object(self, key: str, full: str) -> StoredObject | None:
        meta = self._head(full)
        return stored_object(key, meta) if meta is not None else None

    def _current_etag(self, full: str) -> str | None:
        meta = self._head(full)
        return unquote_etag(meta["ETag"]) if meta else None

    def _check_current(self, where: str, full: str, expected_etag: str) -> None:
        """Catch a stale read before writing, even on servers that ignore If-Match."""
        current = self._current_etag(full)
        if current != expected_etag:
            raise conflict(where, expected_etag, current)

    def _upload_file(self, full: str, path: Path, sha256: str, progress: Progress | None) -> None:
        """Upload, multipart above the threshold, and leave no unfinished multipart upload of
        this key behind: neither ours on failure nor older ones a crashed run left."""
        upload = functools.partial(
            self.client.upload_file,
            str(path),
            self.bucket,
            full,
            ExtraArgs=object_headers(full, sha256),  # the same suffix as the key
            Config=self.transfer_config,
            Callback=_serialized(progress),
        )
        if path.stat().st_size < self.transfer_config.multipart_threshold:
            upload()
            return
        # Listing is slow on some servers (~45 ms on RGW), so it overlaps the upload. It may
        # catch our own upload; aborting that after completion is a harmless NoSuchUpload.
        with ThreadPoolExecutor(max_workers=1) as pool:
            earlier = pool.submit(self._pending_ids, full)
            try:
                upload()
            except BaseException:
                self._abort(full, self._pending_ids(full))  # if s3transfer's abort failed too
                raise
            self._abort(full, earlier.result())

    def _pending_ids(self, full: str) -> list[str]:
        """Best effort: the server may be down (the next run cleans up) or deny the listing."""
        try:
            response = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
        except (ClientError, BotoCoreError) as exc:
            reason = redact(str(exc), self.client)
            log.warning("cannot list multipart uploads of %s/%s: %s", self.bucket, full, reason)
            return []
        return [up["UploadId"] for up in response.get("Uploads", []) if up["Key"] == full]

    def _abort(self, full: str, upload_ids: list[str]) -> None:
        for upload_id in upload_ids:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
                log.info("aborted an unfinished multipart upload of %s/%s", self.bucket, full)
            except ClientError as exc:
                if error_code(exc) != "NoSuchUpload":  # ours, completed meanwhile
                    reason = redact(str(exc), self.client)
                    log.warning("cannot abort upload %s of %s: %s", upload_id, full, reason)
            except BotoCoreError as exc:
                reason = redact(str(exc), self.client)
                log.warning("cannot abort upload %s of %s: %s", upload_id, full, reason)

    def _verify(
        self,
        action: str,
        key: str,
        meta: dict[str, Any] | None,
        size: int,
        sha256: str,
        md5: Any,
    ) -> StoredObject:
        """Read the object's HEAD back: size, SHA-256 metadata and, for plain single-part
        objects (whose ETag is the MD5 of the content), the MD5."""
        if meta is None:
            raise StorageError(f"{action}: the object is missing right after the upload")
        stored = stored_object(key, meta)
        problems = []
        if stored.size != size:
            problems.append(f"size {stored.size}, expected {size}")
        if stored.sha256 != sha256:
            problems.append(f"sha256 metadata {stored.sha256}, expected {sha256}")
        if etag_is_md5(meta) and stored.etag != (expected_md5 := md5()):
            problems.append(f"ETag {stored.etag}, expected MD5 {expected_md5}")
        if problems:
            raise StorageError(f"{action}: verification failed: {'; '.join(problems)}")
        return stored

    @contextlib.contextmanager
    def _errors(self, action: str, key: str | None) -> Iterator[None]:
        """Turn boto3/botocore (and file) errors into StorageError naming what to fix."""
        try:
            yield
        except StorageError:
            raise
        except (ClientError, BotoCoreError, S3UploadFailedError, OSError) as exc:
            resource = self.bucket + (f"/{self.full_key(key)}" if key is not None else "")
            reason = redact(explain(exc, self.bucket, resource, self.endpoint_url), self.client)
            redact_chain(exc, self.client)  # -v prints it, and botocore's text has the URL
            raise StorageError(f"{action}: {reason}", original=exc) from exc


def _serialized(progress: Progress | None) -> Progress | None:
    """s3transfer calls back from its worker threads; callers get one call at a time."""
    if progress is None:
        return None
    lock = threading.Lock()

    def call(amount: int) -> None:
        with lock:
            progress(amount)

    return call

"""Why an S3 request failed, in one sentence for the user, and never with a credential in it.

:mod:`dfl_audio.s3` turns every boto3/botocore error into a :class:`StorageError`; this module
holds what that message needs: :func:`explain` (the server's error code or the connection
failure, as what to fix) and the redaction that keeps access keys, secrets, session tokens and
``user:password@`` in URLs out of messages, logs and ``--verbose`` tracebacks. It is kept apart
from the adapter so the tables of codes and permissions read on their own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# ``scheme://user:password@``: the userinfo of any URL in a message (plain or %-encoded).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#\"'<>]*@")


def error_code(exc: ClientError) -> str:
    """The server's error code (``NoSuchKey``), or the bare HTTP status a HEAD gets."""
    return str(exc.response.get("Error", {}).get("Code", ""))


_PERMISSIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "HeadObject": "s3:GetObject (and s3:ListBucket on the bucket, to tell missing from denied)",
    "GetObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}
_BUCKET_LEVEL = {"ListObjectsV2", "ListMultipartUploads"}
_REGION_CODES = {
    "PermanentRedirect",
    "301",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
}
_CODE_REASONS = {
    "NoSuchBucket": "the bucket {bucket} does not exist (check the bucket name and endpoint)",
    "SignatureDoesNotMatch": (
        "the server rejected the request signature: the secret access key is wrong "
        "for this access key id (SignatureDoesNotMatch)"
    ),
    "InvalidAccessKeyId": "the server does not know this access key id (InvalidAccessKeyId)",
    "RequestTimeTooSkewed": (
        "this computer's clock is more than 15 minutes off the server's; "
        "synchronise it (NTP) and retry (RequestTimeTooSkewed)"
    ),
    "ExpiredToken": "the session credentials have expired; renew them (ExpiredToken)",
    "InvalidToken": "the session token is invalid; renew the credentials (InvalidToken)",
}


def explain(exc: BaseException, bucket: str, resource: str, endpoint: str) -> str:
    """One sentence for the user: what the server said and what to change."""
    cause = _root_cause(exc)
    if isinstance(cause, ClientError):
        return _explain_client_error(cause, bucket, resource)
    if isinstance(cause, EndpointConnectionError):
        return (
            f"cannot connect to {endpoint}: check storage.endpoint_url / AWS_ENDPOINT_URL "
            "and that the server is running"
        )
    if isinstance(cause, ConnectTimeoutError | ReadTimeoutError):
        return f"timed out talking to {endpoint} ({type(cause).__name__})"
    if isinstance(cause, ConnectionClosedError):
        return f"{endpoint} closed the connection during the transfer"
    if isinstance(cause, NoCredentialsError | PartialCredentialsError):
        return (
            "no usable S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE, or another source of boto3's default credential chain"
        )
    if isinstance(cause, OSError):
        return f"cannot read the file: {cause}"
    return str(cause)


def _explain_client_error(exc: ClientError, bucket: str, resource: str) -> str:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code, status = error_code(exc), meta.get("HTTPStatusCode")
    retries = meta.get("RetryAttempts", 0)
    tail = f" (HTTP {status} {code}{f', after {retries} retries' if retries else ''})"
    if code in _CODE_REASONS:
        return _CODE_REASONS[code].format(bucket=bucket)
    if code in _REGION_CODES:
        region = error.get("Region") or meta.get("HTTPHeaders", {}).get("x-amz-bucket-region")
        hint = f"set storage.region to {region}" if region else "set storage.region to it"
        return f"the bucket {bucket} is in another region; {hint}" + tail
    if code in {"AccessDenied", "403", "AllAccessDisabled"}:
        operation = exc.operation_name
        target = bucket if operation in _BUCKET_LEVEL else resource
        needed = _PERMISSIONS.get(operation, f"permission for {operation}")
        return f"access denied: the credentials need {needed} on {target}" + tail
    message = error.get("Message") or "no message"
    return f"{message}" + tail


def _root_cause(exc: BaseException) -> BaseException:
    """boto3's S3UploadFailedError hides the ClientError in its context; dig it out."""
    seen = exc
    while isinstance(seen, S3UploadFailedError) and (seen.__cause__ or seen.__context__):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return seen


def mask_url_userinfo(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` as ``scheme://***@``, in whatever encoding.

    >>> mask_url_userinfo('cannot reach "http://KEY:s%2Fcret@127.0.0.1:9/b" or s3://b/k')
    'cannot reach "http://***@127.0.0.1:9/b" or s3://b/k'
    """
    return _URL_USERINFO.sub(r"\1***@", text)


def redact(text: str, client: S3Client) -> str:
    """Belt and braces: no credential ever reaches a message, whatever the server echoed."""
    text = mask_url_userinfo(text)
    for secret in _credential_strings(client):
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


def redact_chain(exc: BaseException, client: S3Client) -> None:
    """Redact the messages of ``exc`` and of the exceptions it came from, for tracebacks."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(
            redact(arg, client) if isinstance(arg, str) else arg for arg in current.args
        )
        current = current.__cause__ or current.__context__


def _credential_strings(client: S3Client) -> list[str]:
    signer = getattr(client, "_request_signer", None)
    credentials = getattr(signer, "_credentials", None)
    if credentials is None:
        return []
    try:
        frozen = credentials.get_frozen_credentials()
    except Exception:  # a refresh failing here must not hide the error being reported
        return []
    return [value for value in (frozen.access_key, frozen.secret_key, frozen.token) if value]

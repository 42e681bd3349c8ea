"""``dfl-audio serve``: preview the show on 127.0.0.1 the way S3 would serve it.

Files come from the local storage folder at the same paths as under the public URL; the
feed, the site's pages and its sitemap are served with the public base URL swapped for this
server's, so a podcast app (or a browser) on this machine can subscribe, browse and download
everything from here. ``/`` is the show page, as on a server with index documents. Range
requests, ETags and HEAD come from Werkzeug's ``send_file``, the same code Flask serves
files with.

Only what a bucket would hold is served: no hidden names (the ``.dfl-index/`` sidecars, temp
files), nothing a symlink leads to outside the folder, no key longer than S3 allows. A
multi-range or malformed ``Range`` is ignored (200, whole file), as S3 does.

The site's pages, sitemap and assets are stored plain in the folder (a folder keeps no
headers: any static server can serve it) and S3 stores them gzip-encoded; the preview sends
them gzip-encoded, rewritten first, when the request accepts gzip (``Vary: Accept-Encoding``),
and plain otherwise. The feed, audio and transcripts always go as they are.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import parse_range_header
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from dfl_audio.compression import GZIP, gzip_bytes, travels_compressed
from dfl_audio.errors import ConfigError, StorageError
from dfl_audio.fsutil import sha256_bytes
from dfl_audio.mediatypes import cache_control_for, content_type_for
from dfl_audio.site.urls import SHOW_PAGE, SITEMAP
from dfl_audio.storage_base import check_key

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024  # S3's limit on a key: a longer path names nothing a bucket could hold


@dataclass(frozen=True)
class Site:
    """What the preview serves: a storage folder, and the feed rewritten for this address."""

    folder: Path
    feed_name: str
    feed_bytes: bytes
    public_prefixes: tuple[str, ...]  # URLs in the feed that mean "the storage", longest first

    def feed_for(self, base_url: str) -> bytes:
        """The feed with every public URL of the storage pointing at ``base_url`` instead."""
        return self.rewritten(self.feed_bytes, base_url)

    def rewritten(self, data: bytes, base_url: str) -> bytes:
        """``data`` (the feed, a page, the sitemap) with the storage's public URLs local."""
        for prefix in self.public_prefixes:
            data = data.replace(prefix.encode(), base_url.encode())
        return data


class PreviewApp:
    """A WSGI app: GET/HEAD only, files with ranges and conditional requests."""

    def __init__(self, site: Site, base_url: str) -> None:
        self.site = site
        self.base_url = base_url

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.respond(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        # send_file sets a Date and the server adds its own: a response carries one.
        response.headers.pop("Date", None)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})
        key = request.path.lstrip("/") or SHOW_PAGE
        if key == self.site.feed_name:
            return self._send(request, BytesIO(self.site.feed_for(self.base_url)), key)
        path = self.file_for(key)
        if path is None:
            raise NotFound()
        if key.endswith(".html") or key == SITEMAP:  # they name the public URLs too
            page = self.site.rewritten(path.read_bytes(), self.base_url)
            return self._send(request, BytesIO(page), key)
        return self._send(request, path, key)

    def _encoded(self, request: Request, body: Path | BytesIO, key: str) -> Path | BytesIO:
        """``body`` gzip-encoded when ``key`` travels so and the request accepts gzip."""
        if not (travels_compressed(key) and accepts_gzip(request)):
            return body
        data = body.getvalue() if isinstance(body, BytesIO) else body.read_bytes()
        return BytesIO(gzip_bytes(data))

    def file_for(self, key: str) -> Path | None:
        """The regular file a bucket would serve at ``key``, or None.

        Hidden names and over-long keys are refused before the filesystem is asked; the path
        is then resolved (symlinks followed) and must still be a visible file inside the folder.
        """
        try:
            check_key(key)
        except StorageError:
            return None
        if len(key.encode("utf-8", "surrogateescape")) > MAX_KEY_BYTES:
            return None
        try:
            root = self.site.folder.resolve(strict=True)
            path = (root / key).resolve(strict=True)
            inside = path.relative_to(root)
            if not path.is_file():
                return None
        except (OSError, ValueError, RuntimeError):  # missing, too long, a loop, outside, NUL
            return None
        if any(part.startswith(".") for part in inside.parts):
            return None  # a symlink inside the folder leading to a hidden file
        return path

    def _send(self, request: Request, body: Path | BytesIO, key: str) -> Response:
        plain = body
        body = self._encoded(request, body, key)
        response = send_file(
            body,
            _without_unusable_range(request.environ),
            mimetype=content_type_for(key),
            download_name=Path(key).name,
            as_attachment=False,
            conditional=True,
            etag=sha256_bytes(body.getvalue())[:32] if isinstance(body, BytesIO) else True,
            max_age=None,
        )
        # as the storage serves it: werkzeug would add a charset to every text/* type (and a
        # second one to a type that has one)
        response.headers["Content-Type"] = content_type_for(key)
        response.headers["Cache-Control"] = cache_control_for(key)
        response.headers["Access-Control-Allow-Origin"] = "*"  # web players fetch transcripts
        if travels_compressed(key):
            response.vary.add("Accept-Encoding")
            if body is not plain:
                response.headers["Content-Encoding"] = GZIP
        return response


def accepts_gzip(request: Request) -> bool:
    """Does the request's ``Accept-Encoding`` allow gzip (``gzip``, ``x-gzip`` or ``*``, with
    a quality above 0)? No header means identity only, as S3 and every server read it."""
    named = {value.lower(): quality for value, quality in request.accept_encodings}
    quality = max((named[name] for name in ("gzip", "x-gzip") if name in named), default=None)
    return (quality if quality is not None else named.get("*", 0)) > 0


def _without_unusable_range(environ: dict[str, Any]) -> dict[str, Any]:
    """The request without a ``Range`` S3 would ignore: several ranges, or a malformed one.

    Werkzeug answers both with 416; S3 (and so every listener's app) gets a 200 and the
    whole object. A single range past the end stays a 416, as on S3.
    """
    header = environ.get("HTTP_RANGE")
    if header is None:
        return environ
    parsed = parse_range_header(header)
    if parsed is not None and len(parsed.ranges) == 1:
        return environ
    return {name: value for name, value in environ.items() if name != "HTTP_RANGE"}


_BIND_ADVICE = {
    errno.EADDRINUSE: "stop what is using it, or choose another --port (0 picks a free one)",
    errno.EACCES: "ports below 1024 need privileges: choose another --port (0 picks a free one)",
}


def start(site: Site, port: int = 0, host: str = "127.0.0.1") -> tuple[BaseWSGIServer, str]:
    """Start serving in a background thread; returns the server and its base URL.

    A port that cannot be had (in use, privileged, out of range) is a :class:`ConfigError`.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"cannot serve on port {port}: a port is a number from 0 to 65535")
    try:  # bound here, so a busy port is our one-line error, not Werkzeug's exit
        listener = socket.create_server((host, port))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        advice = _BIND_ADVICE.get(exc.errno or 0, "choose another --port (0 picks a free one)")
        message = f"cannot serve on {host}:{port}: {reason}; {advice}"
        raise ConfigError(message, original=exc) from exc
    app = PreviewApp(site, base_url="")  # the port is known once the server is bound
    with listener:  # the server works on its own duplicate of the socket
        server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    base_url = app.base_url = f"http://{host}:{server.port}/"
    threading.Thread(target=server.serve_forever, name="dfl-audio-serve", daemon=True).start()
    return server, base_url

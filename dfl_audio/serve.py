"""``dfl-audio serve``: preview the show on 127.0.0.1 the way S3 would serve it.

Files come from the local storage folder at the same paths as under the public URL; the
feed is served with the public base URL swapped for this server's, so a podcast app on this
machine can subscribe and download everything from here. Range requests, ETags and HEAD
come from Werkzeug's ``send_file``, the same code Flask serves files with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.security import safe_join
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from dfl_audio.fsutil import sha256_bytes
from dfl_audio.mediatypes import cache_control_for, content_type_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Site:
    """What the preview serves: a storage folder, and the feed rewritten for this address."""

    folder: Path
    feed_name: str
    feed_bytes: bytes
    public_prefixes: tuple[str, ...]  # URLs in the feed that mean "the storage", longest first

    def feed_for(self, base_url: str) -> bytes:
        """The feed with every public URL of the storage pointing at ``base_url`` instead."""
        data = self.feed_bytes
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
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})
        key = request.path.lstrip("/")
        if key == self.site.feed_name:
            return self._send(request, BytesIO(self.site.feed_for(self.base_url)), key)
        path = safe_join(str(self.site.folder), key) if key else None
        if path is None or not Path(path).is_file() or Path(path).name.startswith("."):
            raise NotFound()
        return self._send(request, Path(path), key)

    def _send(self, request: Request, body: Path | BytesIO, key: str) -> Response:
        response = send_file(
            body,
            request.environ,
            mimetype=content_type_for(key),
            download_name=Path(key).name,
            as_attachment=False,
            conditional=True,
            etag=sha256_bytes(body.getvalue())[:32] if isinstance(body, BytesIO) else True,
            max_age=None,
        )
        response.headers["Cache-Control"] = cache_control_for(key)
        response.headers["Access-Control-Allow-Origin"] = "*"  # web players fetch transcripts
        return response


def start(site: Site, port: int = 0, host: str = "127.0.0.1") -> tuple[BaseWSGIServer, str]:
    """Start serving in a background thread; returns the server and its base URL."""
    app = PreviewApp(site, base_url="")  # the port is known once the server is bound
    server = make_server(host, port, app, threaded=True)
    base_url = app.base_url = f"http://{host}:{server.server_port}/"
    threading.Thread(target=server.serve_forever, name="dfl-audio-serve", daemon=True).start()
    return server, base_url

"""Run one case against a fresh project copy and observe everything a user would.

An :class:`Outcome` holds the exit code (the HTTP status for serve requests), the stderr
lines with the project path replaced by ``<root>``, whether a traceback escaped, and
every file that changed anywhere in the project (the storage folder, feeds/ with the state,
the episode files, the run's TMPDIR) or in the case's S3 bucket.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from click.testing import CliRunner

from badinputs.case import Case
from badinputs.damage import stored_audio_key

SKIP_DIRS = {".dfl-audio"}  # the parse cache: a cache, rebuilt from the episode files
# Variables a developer's shell may hold that would change what a case means.
AMBIENT = (
    "DFL_AUDIO_STORAGE",
    "DFL_AUDIO_PUBLIC_URL",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
TEMP_MARKERS = (".tmp", "dfl-audio-")

Snapshot = dict[str, str]
CONTENT_HASH = re.compile(r"-[0-9a-f]{12}\.(?=(?:chapters\.)?(?:mp3|json|vtt|srt|jpe?g|png)\b)")


@dataclass
class Outcome:
    """What one run did, in the terms the golden file and the tally use."""

    exit: int | None  # None: still running at the timeout (killed)
    message: str
    traceback: bool
    changed: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def hung(self) -> bool:
        return self.exit is None


@dataclass(frozen=True)
class Context:
    """Where a case runs: the project copy and, for S3 cases, the server and its bucket."""

    root: Path
    endpoint: str | None = None  # the S3 server (moto, or Ceph RGW in CI)
    bucket: str | None = None
    s3_admin: Any = None
    port: int = 0

    def fill(self, text: str) -> str:
        return text.format(
            root=self.root, endpoint=self.endpoint or "", bucket=self.bucket or "", port=self.port
        )

    def normalize(self, text: str) -> str:
        for real in {str(self.root.resolve()), str(self.root)}:
            text = text.replace(real, "<root>")
        if self.endpoint:
            text = text.replace(self.endpoint, "<s3>")
        if self.port:
            text = text.replace(str(self.port), "<port>")
        today = datetime.now().astimezone().date().isoformat()  # `new` names its file by it
        return content_hashes(text.replace(f"episodes/{today}-", "episodes/<today>-"))


def content_hashes(text: str) -> str:
    """Storage keys end in a content hash (``audio/welcome-828571adbc23.mp3``); the MP3's
    depends on the encoder build, so goldens name ``<hash>`` instead.

    >>> content_hashes("storage/audio/welcome-828571adbc23.mp3")
    'storage/audio/welcome-<hash>.mp3'
    """
    return CONTENT_HASH.sub("-<hash>.", text)


# -- snapshots ---------------------------------------------------------------------------------


def snapshot(ctx: Context) -> Snapshot:
    """Every file, link and folder under the project (and the case's bucket): path → content
    digest and mode. A leftover empty temp folder counts as much as a changed byte."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(ctx.root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS or Path(folder) != ctx.root)
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(ctx.root).as_posix()
            info = path.lstat()
            if path.is_symlink():
                found[rel] = f"link {os.readlink(path)}"
            elif path.is_dir():
                found[rel + "/"] = f"dir {info.st_mode & 0o7777:o}"
            else:
                found[rel] = f"{_digest(path, rel)} {info.st_mode & 0o7777:o}"
    if ctx.s3_admin is not None and ctx.bucket:
        found.update(bucket_snapshot(ctx.s3_admin, ctx.bucket))
    return found


def _digest(path: Path, rel: str) -> str:
    """The file's SHA-256; for a storage sidecar, only the checksum it records.

    A sidecar also records its file's inode, which a copied project never keeps, so a run
    may refresh that stamp: not a change to what is stored.
    """
    data = path.read_bytes()
    if rel.startswith("storage/.dfl-index/") and rel.endswith(".json"):
        try:
            return "sidecar " + str(json.loads(data)["sha256"])
        except (ValueError, KeyError, TypeError):
            pass
    return hashlib.sha256(data).hexdigest()[:16]


def bucket_snapshot(admin: Any, bucket: str) -> Snapshot:
    found: Snapshot = {}
    try:
        pages = admin.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for page in pages:
            for item in page.get("Contents", []):
                body = admin.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[f"s3://{bucket}/{item['Key']}"] = hashlib.sha256(body).hexdigest()[:16]
    except admin.exceptions.NoSuchBucket:
        pass
    return found


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """``+path`` made, ``-path`` removed, ``~path`` altered (content or mode)."""
    made = [f"+{path}" for path in sorted(after.keys() - before.keys())]
    gone = [f"-{path}" for path in sorted(before.keys() - after.keys())]
    altered = [f"~{p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return made + gone + altered


def leftovers(ctx: Context) -> list[str]:
    """Temporary files and folders a run left behind (for cases that may change files)."""
    found = []
    for path in sorted(ctx.root.rglob("*")):
        rel = path.relative_to(ctx.root).as_posix()
        if rel.startswith("tmp/") or (
            path.name.startswith(".") and any(m in path.name for m in TEMP_MARKERS)
        ):
            found.append(f"+{rel}")
    return found


# -- running -----------------------------------------------------------------------------------


def run_case(case: Case, ctx: Context) -> Outcome:
    """Run the case's command once (or its request) and compare the project before/after."""
    (ctx.root / "tmp").mkdir(exist_ok=True)  # the run's TMPDIR, inside what is compared
    before = snapshot(ctx)
    if case.mode == "inprocess":
        outcome = _inprocess(case, ctx)
    elif case.mode == "subprocess":
        outcome = _subprocess(case, ctx)
    elif case.mode == "signal":
        outcome = _signalled(case, ctx)
    else:
        outcome = _http(case, ctx)
    if case.expect == "accept":
        if case.check is not None and outcome.exit == 0 and not outcome.traceback:
            outcome.message = case.check(ctx)
        outcome.changed = leftovers(ctx)
    elif case.mode == "signal":
        outcome.changed = leftovers(ctx)
    else:
        outcome.changed = differences(before, snapshot(ctx))
    return outcome


def _env(case: Case, ctx: Context) -> dict[str, str | None]:
    env: dict[str, str | None] = dict.fromkeys(AMBIENT)
    env.update({name: ctx.fill(value) for name, value in case.env.items()})
    return env


def _argv(case: Case, ctx: Context) -> list[str]:
    return ["--root", str(ctx.root), *(ctx.fill(arg) for arg in case.argv)]


def stderr_lines(text: str) -> str:
    """What the user reads on stderr, blank lines dropped: every located problem above the
    ``Error: N problems`` line, warnings, and the one-line error."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


@contextmanager
def _fresh_logging_and_tmp(tmp: Path) -> Iterator[None]:
    """Let the CLI's logging.basicConfig bind to this run's stderr; temp files go to ``tmp``."""
    root_logger = logging.getLogger()
    saved = root_logger.handlers[:]
    root_logger.handlers = []
    old_tmp = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    try:
        yield
    finally:
        tempfile.tempdir = old_tmp
        root_logger.handlers = saved


def _inprocess(case: Case, ctx: Context) -> Outcome:
    from dfl_audio.cli import cli

    with _fresh_logging_and_tmp(ctx.root / "tmp"):
        result = CliRunner().invoke(cli, _argv(case, ctx), env=_env(case, ctx))
    stderr = ctx.normalize(result.stderr)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    message = stderr_lines(stderr)
    if escaped:
        exc = result.exception
        message = ctx.normalize(f"Traceback: {type(exc).__name__}: {exc}")[:300]
    traceback = escaped or "Traceback" in stderr or "Traceback" in result.stdout
    return Outcome(result.exit_code, message, traceback, stderr=stderr)


def _process_env(case: Case, ctx: Context) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    env.update({k: v for k, v in _env(case, ctx).items() if v is not None})
    env["TMPDIR"] = str(ctx.root / "tmp")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _limits(memory: int | None) -> Any:
    if memory is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def _command(case: Case, ctx: Context) -> list[str]:
    return [sys.executable, "-m", "dfl_audio", *_argv(case, ctx)]


SERVING = "press Ctrl-C to stop"  # what `serve` prints once it listens


def _serve(case: Case, ctx: Context) -> Outcome:
    """``dfl-audio serve`` must refuse and exit; once it says it is serving, it did not."""
    process = subprocess.Popen(
        _command(case, ctx),
        env=_process_env(case, ctx),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    serving = threading.Event()

    def watch(stream: IO[str]) -> None:
        for line in stream:
            if SERVING in line:
                serving.set()

    watcher = threading.Thread(target=watch, args=(process.stdout,), daemon=True)
    watcher.start()
    deadline = time.monotonic() + case.timeout
    while process.poll() is None and not serving.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
        process.wait()
        stderr = ctx.normalize(process.stderr.read())
        verdict = "serving instead of refusing" if serving.is_set() else "still running"
        return Outcome(None, verdict, False, stderr=stderr)
    watcher.join(timeout=5)
    stderr = ctx.normalize(process.stderr.read())
    return Outcome(process.returncode, stderr_lines(stderr), "Traceback" in stderr, stderr=stderr)


def _subprocess(case: Case, ctx: Context) -> Outcome:
    if case.argv and case.argv[0] == "serve":
        return _serve(case, ctx)
    try:
        done = subprocess.run(
            _command(case, ctx),
            env=_process_env(case, ctx),
            capture_output=True,
            text=True,
            timeout=case.timeout,
            preexec_fn=_limits(case.memory_limit),
        )
    except subprocess.TimeoutExpired as exc:
        stderr = ctx.normalize(_text(exc.stderr))
        return Outcome(None, f"still running after {case.timeout:g} s", False, stderr=stderr)
    stderr = ctx.normalize(done.stderr)
    traceback = "Traceback" in stderr or "Traceback" in done.stdout
    return Outcome(done.returncode, stderr_lines(stderr), traceback, stderr=stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def _default_signals() -> None:
    """Undo what a shell's background job inherits (SIGINT ignored, so Python would never
    raise KeyboardInterrupt): the run meets each signal as a user's terminal sends it."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _signalled(case: Case, ctx: Context) -> Outcome:
    """Start the command, signal it once its trigger file appears, optionally re-run."""
    plan = case.signal
    assert plan is not None
    process = subprocess.Popen(
        _command(case, ctx),
        env=_process_env(case, ctx),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any(ctx.root.glob(plan.when)):
            process.send_signal(plan.signum)
            break
        time.sleep(0.01)
    else:
        process.kill()
        process.communicate()
        return Outcome(None, f"never reached {plan.when}", False)
    try:
        stdout, stderr = process.communicate(timeout=case.timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return Outcome(None, f"still running {case.timeout:g} s after the signal", False)
    outcome = Outcome(
        process.returncode,
        stderr_lines(ctx.normalize(stderr)),
        "Traceback" in stderr or "Traceback" in stdout,
        stderr=ctx.normalize(stderr),
    )
    if plan.rerun:
        outcome = _subprocess(case, ctx)
    return outcome


def _http(case: Case, ctx: Context) -> Outcome:
    """Serve the project's storage as ``dfl-audio serve`` does and send one raw request."""
    from dfl_audio.config import Overrides
    from dfl_audio.episodes import Project
    from dfl_audio.preview import site_for
    from dfl_audio.serve import start

    request = case.request
    assert request is not None
    path = request.path
    if "{audio_key}" in path:
        path = path.replace("{audio_key}", stored_audio_key(ctx.root))
    server, base_url = start(site_for(Project(ctx.root), Overrides()), port=0)
    try:
        port = urllib.parse.urlsplit(base_url).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest(request.method, path, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    return Outcome(response.status, http_summary(response, body, ctx.root), False)


def http_summary(response: http.client.HTTPResponse, body: bytes, root: Path) -> str:
    """Status, how many Date headers, the range answered, and what the body is (a storage
    file, a feed, other bytes) - without sizes, which depend on the encoder and the host."""
    dates = len(response.msg.get_all("Date") or [])
    parts = [f"{response.status} {response.reason}", f"Date x{dates}"]
    content_range = response.getheader("Content-Range")
    if content_range:
        parts.append("Content-Range " + re.sub(r"\d+", "<n>", content_range))
    if response.status < 300:
        parts.append(f"body: {_body_source(body, root)}")
    return "; ".join(parts)


def _body_source(body: bytes, root: Path) -> str:
    storage = root / "storage"
    for path in sorted(storage.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.read_bytes() == body:
            return "all of " + content_hashes(path.relative_to(storage).as_posix())
    if body.startswith(b"<?xml") and b"<rss" in body[:500]:
        return "an RSS feed"
    return "other bytes" if body else "nothing"


def env_without_ambient(extra: Mapping[str, str]) -> dict[str, str | None]:
    """For fixtures that invoke the CLI themselves (the template publish)."""
    env: dict[str, str | None] = dict.fromkeys(AMBIENT)
    env.update(extra)
    return env

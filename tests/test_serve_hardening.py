"""``dfl-audio serve`` against hostile requests and a busy port: real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from project_fixtures import REPO

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.errors import ConfigError
from dfl_audio.serve import Site, start

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A storage folder with an episode, its sidecar, a temp file, and symlinks in and out."""
    folder = tmp_path / "storage"
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "ep.mp3").write_bytes(AUDIO)
    (folder / ".dfl-index" / "audio").mkdir(parents=True)
    (folder / ".dfl-index" / "audio" / "ep.mp3.json").write_text('{"sha256": "x"}')
    (folder / "audio" / ".ep.mp3.dfl-1-abcd0123.tmp").write_bytes(b"partial")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for listeners\n")
    (folder / "audio" / "link.mp3").symlink_to(secret)
    (folder / "audio" / "passwd.mp3").symlink_to("/etc/passwd")
    (folder / "outside").symlink_to(tmp_path, target_is_directory=True)
    (folder / "audio" / "alias.mp3").symlink_to("ep.mp3")
    (folder / "audio" / "index.json").symlink_to("../.dfl-index/audio/ep.mp3.json")
    server, _ = start(Site(folder, "show.xml", b"<rss/>", ()), port=0)
    try:
        yield server.port, folder
    finally:
        server.shutdown()


def request(port: int, path: str, method: str = "GET", **headers: str) -> Reply:
    """One raw request: the path goes out exactly as given, every header comes back."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/audio/link.mp3",  # a symlink to a file outside the folder
        "/audio/passwd.mp3",  # ... to a system file
        "/outside/secret.txt",  # a folder symlink leading out
        "/audio/index.json",  # a symlink inside the folder to a hidden file
        "/.dfl-index/audio/ep.mp3.json",  # the sidecars
        "/%2Edfl-index/audio/ep.mp3.json",
        "/audio/.ep.mp3.dfl-1-abcd0123.tmp",  # a temp file
        "/audio/%00ep.mp3",
        "/audio/..%2F..%2Fsecret.txt",
        "/" + "a" * 9000,  # longer than any key S3 allows (and than a file name can be)
        "/audio/" + "b" * 1100 + ".mp3",
    ],
)
def test_what_a_bucket_would_not_hold_is_404(served: tuple[int, Path], path: str) -> None:
    port, _ = served
    reply = request(port, path)
    assert reply.status == 404
    assert b"not for listeners" not in reply.body and b"root:" not in reply.body


def test_a_symlink_inside_the_folder_is_still_served(served: tuple[int, Path]) -> None:
    port, _ = served
    assert request(port, "/audio/alias.mp3").body == AUDIO


def test_a_multi_range_request_gets_the_whole_file_like_s3(served: tuple[int, Path]) -> None:
    port, _ = served
    for header in ("bytes=0-1,5-9", "bytes=0-0,-1", "bytes=abc", "bytes=9-2"):
        reply = request(port, "/audio/ep.mp3", Range=header)
        assert (reply.status, reply.body) == (200, AUDIO), header
        assert reply.header("Content-Range") == []
    one = request(port, "/audio/ep.mp3", Range="bytes=5-9")
    assert (one.status, one.body) == (206, AUDIO[5:10])
    past_end = request(port, "/audio/ep.mp3", Range="bytes=99999-")
    assert past_end.status == 416  # as on S3: a single range that cannot be satisfied


def test_every_response_has_exactly_one_date(served: tuple[int, Path]) -> None:
    port, _ = served
    whole = request(port, "/audio/ep.mp3")
    etag = whole.header("ETag")[0]
    replies = {
        "file": whole,
        "feed": request(port, "/show.xml"),
        "head": request(port, "/audio/ep.mp3", "HEAD"),
        "range": request(port, "/audio/ep.mp3", Range="bytes=0-9"),
        "not modified": request(port, "/audio/ep.mp3", **{"If-None-Match": etag}),
        "missing": request(port, "/missing.mp3"),
        "post": request(port, "/show.xml", "POST"),
    }
    assert replies["not modified"].status == 304
    for name, reply in replies.items():
        assert len(reply.header("Date")) == 1, name


def test_a_busy_port_is_a_clear_error(served: tuple[int, Path]) -> None:
    port, folder = served
    with pytest.raises(ConfigError) as error:
        start(Site(folder, "show.xml", b"<rss/>", ()), port=port)
    assert str(error.value) == (
        f"cannot serve on 127.0.0.1:{port}: Address already in use; stop what is using it, "
        "or choose another --port (0 picks a free one)"
    )


@pytest.mark.parametrize("port", [-1, 99999, 65536])
def test_start_refuses_a_port_out_of_range(tmp_path: Path, port: int) -> None:
    with pytest.raises(ConfigError, match="a port is a number from 0 to 65535"):
        start(Site(tmp_path, "show.xml", b"", ()), port=port)


@pytest.fixture
def with_feed(tmp_path: Path) -> Project:
    """The shipped show with a stand-in feed: all ``serve`` needs to start."""
    shutil.copytree(REPO / "episodes", tmp_path / "episodes")
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "interviews.xml").write_bytes(b"<rss/>")
    return Project(tmp_path)


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("-1", "-1 is not in the range 0<=x<=65535."),
        ("99999", "99999 is not in the range 0<=x<=65535."),
        ("http", "'http' is not a valid integer range."),
    ],
)
def test_cli_refuses_a_bad_port(with_feed: Project, port: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["--root", str(with_feed.root), "serve", "--port", port])
    assert result.exit_code == 2
    assert result.output.endswith(f"\nError: Invalid value for '--port': {message}\n")


def test_cli_on_a_busy_port_says_so_in_one_line(with_feed: Project) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--root", str(with_feed.root), "serve", "--port", str(port)]
        )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot serve on 127.0.0.1:{port}: Address already in use; stop what is using "
        "it, or choose another --port (0 picks a free one)\n"
    )


def test_serve_stops_cleanly_on_sigterm(with_feed: Project) -> None:
    """The real command: it serves, and SIGTERM (as systemd stops it) ends it with exit 0."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "dfl_audio", "--root", str(with_feed.root), "serve"]
    proc = subprocess.Popen(
        [*command, "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/interviews\.xml", first)
        assert match, first
        assert request(int(match[1]), "/interviews.xml").body == b"<rss/>"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert b"Traceback" not in stderr


def test_a_privileged_port_says_why(tmp_path: Path) -> None:
    """As an ordinary user (dropped to nobody in a child when the tests run as root)."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from dfl_audio.errors import ConfigError\n"
        "from dfl_audio.serve import Site, start\n"
        "if os.geteuid() == 0:\n"
        "    os.setuid(65534)\n"
        "try:\n"
        "    start(Site(Path(sys.argv[1]), 'show.xml', b'', ()), port=80)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('bound')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    if done.stdout == "bound\n":
        pytest.skip("this system lets any user bind port 80")
    assert done.stdout == (
        "cannot serve on 127.0.0.1:80: Permission denied; ports below 1024 need privileges: "
        "choose another --port (0 picks a free one)\n"
    )

"""Bad input files through the real CLI: one located line, exit 1, no traceback, nothing written.

Each case edits a copy of the shipped show (``project``), runs ``dfl-audio`` as a user
would, and checks the exact message. The logging and secret cases run the CLI in a
subprocess, where logging is configured exactly as for a user.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner
from lxml import etree
from project_fixtures import REPO, SAMPLE_EPISODE, edit, project

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.models.show import StorageSettings
from dfl_audio.s3_client import make_client
from dfl_audio.s3_errors import redact
from dfl_audio.yamlfile import YamlSyntaxError, load_with_lines

__all__ = ["project"]

W = SAMPLE_EPISODE  # episodes/2026-11-20-welcome.md
S = "episodes/show.yaml"
T5 = "episodes/2021-07-27-t5.md"

# 9 levels of 9 aliases: ~340 bytes that would expand to 9**9 strings.
ALIAS_BOMB = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def invoke(project: Project, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(project.root), *args])
    return result.exit_code, result.stdout, result.stderr


def outputs(project: Project) -> dict[str, bytes]:
    """What a refused run must leave untouched: storage and feeds/."""
    return {
        path.relative_to(project.root).as_posix(): path.read_bytes()
        for folder in ("storage", "feeds")
        for path in sorted((project.root / folder).rglob("*"))
        if path.is_file()
    }


def refused(project: Project, command: str, message: str) -> None:
    """``command`` exits 1 with exactly ``Error: message``, no traceback, nothing written."""
    before = outputs(project)
    code, out, err = invoke(project, command)
    assert (code, err) == (1, f"Error: {message}\n"), out
    assert "Traceback" not in out + err
    assert outputs(project) == before


def replace_line(path: Path, prefix: str, line: str) -> None:
    """Replace the first line starting with ``prefix``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, text in enumerate(lines) if text.startswith(prefix))
    lines[index] = line + "\n"
    path.write_text("".join(lines), encoding="utf-8")


# -- 1. YAML aliases are bounded -----------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "publish"])
def test_alias_bomb_in_front_matter_is_refused_quickly(project: Project, command: str) -> None:
    edit(project.root / W, "---\n", "---\n" + ALIAS_BOMB)
    started = time.perf_counter()
    refused(
        project,
        command,
        f"{W}:5: YAML aliases repeat more than 1000 values (an alias bomb?); "
        "write the values out instead",
    )
    assert time.perf_counter() - started < 1.0


def test_alias_bomb_in_show_yaml_is_refused_quickly(project: Project) -> None:
    text = project.show_file.read_text(encoding="utf-8")
    project.show_file.write_text(ALIAS_BOMB + text, encoding="utf-8")
    started = time.perf_counter()
    refused(
        project,
        "validate",
        f"{S}:4: YAML aliases repeat more than 1000 values (an alias bomb?); "
        "write the values out instead",
    )
    assert time.perf_counter() - started < 1.0


def test_recursive_alias_is_refused(project: Project) -> None:
    edit(project.root / W, "---\n", "---\nloop: &loop [*loop]\n")
    refused(
        project,
        "validate",
        f"{W}:2: YAML aliases repeat more than 1000 values (an alias bomb?); "
        "write the values out instead",
    )


def test_a_few_aliases_still_work() -> None:
    data, lines = load_with_lines("host: &h {name: Ada}\nguests: [*h, *h]\n", offset=1)
    assert data == {"host": {"name": "Ada"}, "guests": [{"name": "Ada"}] * 2}
    assert lines.line_of(("guests", 1, "name")) == 2  # an aliased value: the anchor's line


def test_alias_bomb_parse_stops_in_milliseconds() -> None:
    started = time.perf_counter()
    with pytest.raises(YamlSyntaxError) as caught:
        load_with_lines(ALIAS_BOMB * 1 + "z: [*i, *i, *i]\n")
    assert caught.value.line == 4
    assert time.perf_counter() - started < 0.25


# -- 2. Every PyYAML error is one located line --------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-02-30", "day is out of range for month"),
        ("2021-13-45", "month must be in 1..12"),
        ("2026-11-20 09:00:00 +99:00", "the time zone offset must be less than 24 hours"),
    ],
)
def test_invalid_yaml_timestamp_is_a_located_problem(
    project: Project, value: str, why: str
) -> None:
    replace_line(project.root / W, "date:", f"date: {value}")
    refused(
        project,
        "validate",
        f"{W}:3: date: must be a date and time with a time zone, e.g. 2021-03-04 10:00:00 "
        f"-05:00; got '{value}' ({why})",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("explicit: !!bool maybe", "malformed YAML: cannot read 'maybe' as !!bool"),
        ("explicit: !!int abc", "malformed YAML: cannot read 'abc' as !!int"),
        ("explicit: !!timestamp soon", "malformed YAML: cannot read 'soon' as !!timestamp"),
        ("explicit: !!float [1]", "malformed YAML: expected a scalar node, but found sequence"),
    ],
)
def test_value_that_does_not_fit_its_yaml_tag_is_a_located_problem(
    project: Project, line: str, message: str
) -> None:
    replace_line(project.root / W, "explicit:", line)
    refused(project, "validate", f"{W}:6: {message}")


def test_text_that_looks_like_an_invalid_date_is_text(project: Project) -> None:
    replace_line(project.show_file, "copyright:", "copyright: 2026-02-30")  # was a traceback
    assert invoke(project, "validate")[:2] == (
        0,
        "ok: 'Depth First Learning Interviews', 5 episodes (4 draft), no problems\n",
    )


def test_control_character_in_yaml_is_one_located_line(project: Project) -> None:
    replace_line(project.root / W, "title:", 'title: "Welcome\x01"')
    refused(
        project,
        "validate",
        f"{W}:2: malformed YAML: character U+0001: control characters are not allowed",
    )


def test_control_character_in_show_yaml_is_one_located_line(project: Project) -> None:
    replace_line(project.show_file, "author:", "author: Depth\x1bFirst")
    refused(
        project,
        "publish",
        f"{S}:10: malformed YAML: character U+001B: control characters are not allowed",
    )


# -- 3. A byte order mark before the front matter -------------------------------------------


def test_bom_before_front_matter_and_in_show_yaml_is_accepted(project: Project) -> None:
    for path in (project.root / W, project.show_file):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert invoke(project, "validate") == (
        0,
        "ok: 'Depth First Learning Interviews', 5 episodes (4 draft), no problems\n",
        "",
    )


def test_bom_keeps_lines_right(project: Project) -> None:
    path = project.root / W
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    edit(path, "explicit: false", "explicit: sometimes")
    refused(
        project,
        "validate",
        f"{W}:6: explicit: input should be a valid boolean, unable to interpret input",
    )


# -- 4. Numbers are finite -------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [(".nan", "nan"), (".inf", "inf"), ("-.inf", "-inf")])
@pytest.mark.parametrize("command", ["validate", "publish"])
def test_chapter_start_must_be_finite(
    project: Project, command: str, value: str, shown: str
) -> None:
    edit(project.root / W, '  - start: "0:03"', f"  - start: {value}")
    refused(
        project,
        command,
        f"{W}:13: chapters[1].start: must be a finite number of seconds, got {shown}",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  loudness: -16", "  loudness: .nan", f"{S}:29: audio.loudness: "),
        ("  true_peak: -1 ", "  true_peak: -.inf ", f"{S}:30: audio.true_peak: "),
    ],
)
def test_show_audio_numbers_must_be_finite(
    project: Project, old: str, new: str, message: str
) -> None:
    edit(project.show_file, old, new)
    refused(project, "publish", message + "input should be a finite number")


# -- 5. GUIDs are unique whatever their case ------------------------------------------------


def test_guids_differing_only_in_case_are_duplicates(project: Project) -> None:
    replace_line(project.root / T5, "guid:", "guid: 190BD4DD-F34D-4F16-A06A-213EAFF1A95A")
    refused(
        project,
        "validate",
        f"{W}:4: guid: 190bd4dd-f34d-4f16-a06a-213eaff1a95a is already used by {T5} "
        "as 190BD4DD-F34D-4F16-A06A-213EAFF1A95A (GUIDs are compared ignoring case)",
    )


# -- 6. http only on a loopback host, parsed exactly -----------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1.evil.example/", "http://127.0.0.1.evil.example/"),
        ("http://localhost.evil.example/", "http://localhost.evil.example/"),
        ("http://127.0.0.1@evil.example/", "http://***@evil.example/"),  # userinfo, masked
        ("http://127.0.0.1:notaport/", "http://127.0.0.1:notaport/"),
        ("http://10.0.0.1/", "http://10.0.0.1/"),
    ],
)
def test_http_public_url_must_be_exactly_loopback(project: Project, url: str, shown: str) -> None:
    replace_line(project.show_file, "public_url:", f"public_url: {url}")
    refused(
        project,
        "validate",
        f"{S}:24: public_url: must be an https:// URL (http:// only on localhost, "
        f"127.0.0.0/8 or [::1]), got '{shown}'",
    )


def test_http_public_url_from_the_environment_must_be_loopback(project: Project) -> None:
    url = "http://127.0.0.1.evil.example/"
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "feed"], env={"DFL_AUDIO_PUBLIC_URL": url}
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: public_url: must be an https:// URL (http:// only on localhost, 127.0.0.0/8 "
        f"or [::1]), got '{url}' (from --public-url or DFL_AUDIO_PUBLIC_URL)\n",
    )
    assert outputs(project) == {}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/", "http://127.3.2.1/", "http://[::1]:8000/", "http://localhost/"],
)
def test_http_public_url_on_loopback_is_accepted(project: Project, url: str) -> None:
    replace_line(project.show_file, "public_url:", f'public_url: "{url}"')
    code, _, err = invoke(project, "validate")
    assert (code, err) == (0, "")


USERINFO = (
    "must not contain a user name or password (user:password@); S3 credentials come from "
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile"
)


def test_public_url_with_a_password_is_refused(project: Project) -> None:
    replace_line(project.show_file, "public_url:", "public_url: https://me:s3cret@cdn.example/")
    refused(project, "validate", f"{S}:24: public_url: {USERINFO}")


def test_endpoint_url_with_a_password_is_refused(project: Project) -> None:
    text = project.show_file.read_text(encoding="utf-8")
    project.show_file.write_text(
        text + "  endpoint_url: https://AKID:s3cr%2Ft@s3.example/\n", encoding="utf-8"
    )
    refused(project, "publish", f"{S}:36: storage.endpoint_url: {USERINFO}")


def test_refused_public_url_from_the_environment_does_not_echo_its_password(
    project: Project,
) -> None:
    url = "http://me:s3cret@cdn.example/"
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "feed"], env={"DFL_AUDIO_PUBLIC_URL": url}
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: public_url: must be an https:// URL (http:// only on localhost, 127.0.0.0/8 "
        "or [::1]), got 'http://***@cdn.example/' (from --public-url or DFL_AUDIO_PUBLIC_URL)\n",
    )


# -- 7 and 9. A first publish: "new episode", and a description without raw HTML ------------

HOSTILE_NOTES = (
    "Hello <script>alert(1)</script> there <img src=x onerror=alert(2)> and <b>bold</b>.\n"
    "\n"
    "<script>\n"
    "document.write('x')\n"
    "</script>\n"
    "\n"
    "<div><p>Block <em>text</em></p></div>\n"
    "\n"
    "Math stays: a < b > c and `<tag>` in code.\n"
)


def test_first_publish_says_new_episode_and_description_has_no_raw_html(
    project: Project,
) -> None:
    path = project.root / W
    front = path.read_text(encoding="utf-8").split("---\n")[1]
    path.write_text(f"---\n{front}---\n{HOSTILE_NOTES}", encoding="utf-8")
    code, out, err = invoke(project, "publish")
    assert code == 0, err
    assert out.splitlines()[0] == f"published: {W} — new episode"
    assert "Traceback" not in out + err
    root = etree.fromstring((project.root / "feeds/interviews.xml").read_bytes())
    (description,) = root.xpath("/rss/channel/item/description/text()")
    assert description == (
        "Hello there and bold.\n\nBlock text\n\nMath stays: a < b > c and <tag> in code.\n\n"
        "Links:\n\n- Depth First Learning (https://www.depthfirstlearning.com/)\n\n"
        "Chapters:\n00:00 Welcome\n"
        "00:03 The guest says hello (https://www.depthfirstlearning.com/)"
    )
    for hostile in ("<script", "onerror", "alert(", "document.write", "<img", "<b>", "<div"):
        assert hostile not in description


# -- 8. -v shows dfl-audio's own log only ----------------------------------------------------


def run_subprocess(project: Project, *args: str, env: dict[str, str] | None = None) -> tuple:  # type: ignore[type-arg]
    """The CLI as a user runs it: its own process, its own logging setup."""
    done = subprocess.run(
        [sys.executable, "-m", "dfl_audio", "--root", str(project.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_verbose_shows_only_dfl_audios_log(project: Project) -> None:
    code, out, err = run_subprocess(project, "-v", "feed")
    assert code == 0, err
    assert out.splitlines()[0] == f"not published yet (run publish): {W} — new episode"
    lines = err.splitlines()
    assert re.fullmatch(r"DEBUG: rendered interviews\.xml with 0 items \(\d+ bytes\)", lines[0])
    # markdown-it logged dozens of "DEBUG: entering code: StateBlock(...)" lines per episode
    assert not [line for line in lines if re.search(r"entering|exiting|State(Block|Inline)", line)]
    assert len(lines) < 5, lines


# -- 10. Secrets in an endpoint URL are masked ----------------------------------------------

SECRET = "s3cr/t+key@x"  # characters that URL encoding changes


def unused_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("verbose", [False, True])
def test_endpoint_userinfo_is_never_printed(project: Project, verbose: bool) -> None:
    port = unused_loopback_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://AKIDUSERINFO:{quote(SECRET, safe='')}@127.0.0.1:{port}/",
        "AWS_ACCESS_KEY_ID": "AKIDUSERINFO",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "DFL_AUDIO_STORAGE": "s3://podcast-bucket/show",
    }
    args = ["-v", "feed"] if verbose else ["feed"]
    code, out, err = run_subprocess(project, *args, env=env)
    assert code == 1
    assert err.splitlines()[-1] == (
        f"Error: Failed to list podcast-bucket/show/: cannot connect to "
        f"http://***@127.0.0.1:{port}/: check storage.endpoint_url / AWS_ENDPOINT_URL and "
        "that the server is running"
    )
    assert ("Traceback" in err) is verbose
    for form in (SECRET, quote(SECRET, safe=""), quote(SECRET), quote_plus(SECRET), "AKIDUSERINFO"):
        assert form not in out + err, form
    assert outputs(project) == {}


def test_a_secret_the_server_echoes_is_masked_in_every_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDECHOED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    client = make_client(StorageSettings(region="us-east-1"))
    echoed = (
        f"bad request {SECRET} / {quote(SECRET, safe='')} / {quote_plus(SECRET)} "
        f"for AKIDECHOED at https://user:{quote(SECRET, safe='')}@s3.example/b"
    )
    assert (
        redact(echoed, client) == "bad request *** / *** / *** for *** at https://***@s3.example/b"
    )

"""The published state is checked on load: a bad field is a located one-line error before
anything is encoded, uploaded or written, never a URL in the feed.

The state (``feeds/<name>.published.json``) is merged by git and edited by hand, and its keys
become the enclosure URLs; these tests damage a real published state field by field and run
the real CLI on it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from project_fixtures import REPO, output_bytes

from dfl_audio.cli import cli
from dfl_audio.errors import FeedError
from dfl_audio.records import Published
from dfl_audio.state import PublishState, load_state, save_state

GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
STATE = "feeds/interviews.published.json"
FIX = "; fix it, or restore the state file from git"
KEY_RULE = "use '/'-separated names that are not empty and do not start with '.'"

Edit = Callable[[dict[str, Any]], None]


def invoke(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample episode published once to local storage through the CLI."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    code, _, err = invoke(root, "-q", "publish")
    assert code == 0, err
    return root


@pytest.fixture
def copy(published: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(published, root)
    return root


def record(field: str, value: Any) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        state["episodes"][GUID][field] = value

    return edit


def transcript(field: str, value: Any) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        state["episodes"][GUID]["transcripts"][0][field] = value

    return edit


def top(field: str, value: Any) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        state[field] = value

    return edit


def rekey(new: str) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        state["episodes"][new] = state["episodes"].pop(GUID)

    return edit


def drop(field: str) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        del state["episodes"][GUID][field]

    return edit


AT = f"episodes.{GUID}"
CASES: list[tuple[str, Edit, str]] = [
    (
        "traversal",
        record("audio_key", "../../../etc/passwd"),
        f"{AT}.audio_key: invalid storage key '../../../etc/passwd': {KEY_RULE}",
    ),
    (
        "traversal-inside",
        record("audio_key", "audio/../../secret.mp3"),
        f"{AT}.audio_key: invalid storage key 'audio/../../secret.mp3': {KEY_RULE}",
    ),
    (
        "absolute-url",
        record("chapters_key", "https://evil.example/x.chapters.json"),
        f"{AT}.chapters_key: invalid storage key 'https://evil.example/x.chapters.json': "
        f"{KEY_RULE}",
    ),
    (
        "hidden",
        transcript("key", "audio/.dfl-index/x.vtt"),
        f"{AT}.transcripts.0.key: invalid storage key 'audio/.dfl-index/x.vtt': {KEY_RULE}",
    ),
    (
        "old-and-new-transcript-fields",
        record("transcript_key", None),
        f"{AT}: transcript_key: is the old form of transcripts; keep only transcripts",
    ),
    (
        "backslash",
        record("artwork_key", "art\\welcome-591863a9f8f8.jpg"),
        f"{AT}.artwork_key: invalid storage key 'art\\\\welcome-591863a9f8f8.jpg': {KEY_RULE}",
    ),
    (
        "not-a-content-key",
        record("audio_key", "audio/<script>.mp3"),
        f"{AT}.audio_key: 'audio/<script>.mp3' is not a key publish writes "
        "(expected audio/<slug>-<12 hex digits>.mp3)",
    ),
    (
        "audio-in-another-folder",
        record("audio_key", "art/welcome-828571adbc23.mp3"),
        f"{AT}.audio_key: 'art/welcome-828571adbc23.mp3' is not a key publish writes "
        "(expected audio/<slug>-<12 hex digits>.mp3)",
    ),
    (
        "show-artwork",
        top("show_artwork_key", "../show.jpg"),
        f"show_artwork_key: invalid storage key '../show.jpg': {KEY_RULE}",
    ),
    (
        "negative-size",
        record("audio_bytes", -1),
        f"{AT}.audio_bytes: -1 is negative; a size is a count of bytes",
    ),
    (
        "negative-source-size",
        record("source_size", -5),
        f"{AT}.source_size: -5 is negative; a size is a count of bytes",
    ),
    ("negative-duration", record("duration", -3.0), f"{AT}.duration: -3.0 is negative"),
    ("huge-duration", record("duration", 1e999), f"{AT}.duration: inf is not a finite number"),
    ("nan-loudness", record("output_lufs", "NaN"), f"{AT}.output_lufs: nan is not a finite number"),
    ("empty-guid", record("guid", ""), f"{AT}.guid: must not be empty"),
    (
        "other-guid",
        record("guid", "someone-else"),
        f"{AT}.guid: is 'someone-else', but the record is filed under '{GUID}'",
    ),
    ("empty-guid-key", rekey(""), "episodes: GUID '': must not be empty"),
    (
        "spaced-guid-key",
        rekey(f" {GUID}"),
        f"episodes: GUID ' {GUID}': ' {GUID}' has spaces around it; no episode has such a GUID",
    ),
    ("empty-withdrawn", top("withdrawn", [""]), "withdrawn.0: must not be empty"),
    (
        "bad-digest",
        record("audio_sha256", "abc"),
        f"{AT}.audio_sha256: 'abc' is not a SHA-256 (64 lower-case hex digits)",
    ),
    ("missing-key", drop("audio_key"), f"{AT}.audio_key: is required"),
]


def damage(root: Path, edit: Edit) -> None:
    path = root / STATE
    state = json.loads(path.read_text())
    edit(state)
    # allow_nan: json writes NaN/Infinity tokens, as a hand edit or another tool could
    path.write_text(json.dumps(state, indent=2).replace('"NaN"', "NaN"))


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["publish", "feed"])
def test_a_bad_state_field_is_a_located_error_before_any_side_effect(
    copy: Path, command: str, edit: Edit, message: str
) -> None:
    damage(copy, edit)
    before = output_bytes(copy)
    code, out, err = invoke(copy, command)
    assert (code, out, err) == (1, "", f"Error: {STATE}: {message}{FIX}\n")
    assert output_bytes(copy) == before


def test_publish_force_refuses_too(copy: Path) -> None:
    """Even a run that would re-encode everything refuses before the first encode."""
    damage(copy, record("audio_key", "../../../etc/passwd"))
    before = output_bytes(copy)
    code, _, err = invoke(copy, "publish", "--force")
    assert code == 1
    assert err.startswith(f"Error: {STATE}: {AT}.audio_key: invalid storage key")
    assert output_bytes(copy) == before


def test_feed_check_and_unpublish_refuse_a_bad_state(copy: Path) -> None:
    damage(copy, record("audio_key", "../../../etc/passwd"))
    before = output_bytes(copy)
    expected = f"Error: {STATE}: {AT}.audio_key: invalid storage key '../../../etc/passwd': "
    episode = str(copy / "episodes/2026-11-20-welcome.md")
    for args in (["feed", "--check"], ["unpublish", episode]):
        code, _, err = invoke(copy, *args)
        assert code == 1
        assert err.startswith(expected), err
    assert output_bytes(copy) == before


def test_several_problems_name_the_first_and_count_the_rest(copy: Path) -> None:
    def both(state: dict[str, Any]) -> None:
        record("audio_bytes", -1)(state)
        record("duration", -1.0)(state)

    damage(copy, both)
    code, _, err = invoke(copy, "feed")
    assert (code, err) == (
        1,
        f"Error: {STATE}: {AT}.audio_bytes: -1 is negative; a size is a count of bytes "
        f"(and 1 more problem){FIX}\n",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON (expected ident at line 1 column 2)"),
        ("", "not valid JSON (EOF while parsing a value at line 1 column 0)"),
        ("[]", "input should be an object"),
    ],
)
def test_a_state_that_is_not_json_is_a_located_error(copy: Path, text: str, message: str) -> None:
    (copy / STATE).write_text(text)
    before = output_bytes(copy)
    code, _, err = invoke(copy, "publish")
    assert (code, err) == (1, f"Error: {STATE}: {message}{FIX}\n")
    assert output_bytes(copy) == before


def test_the_state_publish_writes_loads_back_unchanged(published: Path) -> None:
    """The rules accept every key, size and number a real publish records."""
    state = load_state(published / STATE)
    recorded = state.episodes[GUID]
    assert recorded.audio_key.startswith("audio/welcome-")
    assert state.show_artwork_key is not None and state.show_artwork_key.startswith("art/show-")
    assert recorded.chapters_key and recorded.artwork_key
    assert [stored.type for stored in recorded.transcripts] == [
        "text/vtt",
        "application/x-subrip",
        "application/json",
        "text/html",
    ]
    code, out, err = invoke(published, "feed", "--check")
    assert (code, out, err) == (0, "feed is up to date\n", "")


def test_load_state_names_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "x.published.json"
    path.write_text('{"show_artwork_key": "/etc/passwd"}')
    with pytest.raises(FeedError) as raised:
        load_state(path)
    assert str(raised.value) == (
        f"{path}: show_artwork_key: invalid storage key '/etc/passwd': {KEY_RULE}{FIX}"
    )


def test_a_record_made_in_code_is_checked_too() -> None:
    """Published guards every construction, not only the JSON load."""
    with pytest.raises(ValueError, match="invalid storage key"):
        Published.model_validate(
            {
                "guid": GUID,
                "episode_path": "episodes/x.md",
                "source_sha256": "0" * 64,
                "settings_digest": "x",
                "audio_key": "audio/../x.mp3",
                "audio_sha256": "0" * 64,
                "audio_bytes": 1,
                "duration": 1.0,
                "published_at": "2026-01-01T00:00:00Z",
            }
        )


def test_saving_an_unchanged_state_leaves_the_file_alone(tmp_path: Path) -> None:
    """A run that changes nothing must not rewrite the state (git status stays clean)."""
    path = tmp_path / "interviews.published.json"
    save_state(path, PublishState(storage="local:x"))
    before = path.stat()
    save_state(path, load_state(path))
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    save_state(path, PublishState(storage="local:y"))
    assert load_state(path).storage == "local:y"
    path.write_text("{broken")
    save_state(path, PublishState(storage="local:z"))  # an unreadable file is replaced
    assert load_state(path).storage == "local:z"

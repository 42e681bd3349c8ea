"""The publish state (feeds/<feed>.published.json) damaged by hand, a bad merge or a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from badinputs.case import Case
from badinputs.damage import STATE, Setup, edit_bytes, edit_json, make_dir, write

PUBLISH = ("publish",)


def _record(change: Callable[[dict[str, Any]], None]) -> Setup:
    """Change the sample episode's record in the state."""

    def apply(data: dict[str, Any]) -> None:
        (record,) = data["episodes"].values()
        change(record)

    return edit_json(STATE, apply)


def _set(field: str, value: Any) -> Setup:
    return _record(lambda record: record.__setitem__(field, value))


def _top(field: str, value: Any) -> Setup:
    return edit_json(STATE, lambda data: data.__setitem__(field, value))


STATE_SETUPS: dict[str, Setup] = {
    "not_json": write(STATE, "this is not JSON\n"),
    "empty": write(STATE, ""),
    "truncated": edit_bytes(STATE, lambda data: data[: len(data) // 2]),
    "binary": write(STATE, bytes(range(256))),
    "utf8_bom": edit_bytes(STATE, lambda data: b"\xef\xbb\xbf" + data),
    "json_list": write(STATE, "[]\n"),
    "json_null": write(STATE, "null\n"),
    "is_a_folder": make_dir(STATE),
    "version_word": _top("version", "one"),
    "episodes_a_list": _top("episodes", []),
    "withdrawn_a_string": _top("withdrawn", "190bd4dd"),
    "unknown_top_field": _top("extra", 1),
    "show_artwork_key_traversal": _top("show_artwork_key", "../../../etc/hostname"),
    "record_missing_audio_sha256": _record(lambda record: record.pop("audio_sha256")),
    "record_unknown_field": _set("colour", "blue"),
    "record_guid_differs_from_key": _set("guid", "another-guid"),
    "audio_key_traversal": _set("audio_key", "../../../etc/passwd"),
    "audio_key_absolute": _set("audio_key", "/etc/passwd"),
    "audio_key_hidden": _set("audio_key", ".dfl-index/storage-id"),
    "audio_key_url": _set("audio_key", "https://evil.example/x.mp3"),
    "audio_key_empty": _set("audio_key", ""),
    "audio_key_with_space_and_quote": _set("audio_key", 'audio/a b".mp3'),
    "chapters_key_traversal": _set("chapters_key", "../chapters.json"),
    "transcript_type_html": _record(
        lambda record: record["transcripts"][0].update(type="text/html")
    ),
    "transcript_old_form_beside_new": _set("transcript_key", None),
    "audio_bytes_negative": _set("audio_bytes", -1),
    "duration_string": _set("duration", "long"),
    "duration_negative": _set("duration", -5.0),
    "published_at_garbage": _set("published_at", "yesterday"),
    "duration_nan": edit_bytes(
        STATE, lambda data: data.replace(b'"duration": ', b'"duration": NaN, "_d": ', 1)
    ),
}


def state_cases() -> list[Case]:
    cases = [Case(f"state.{name}", "state", PUBLISH, setup) for name, setup in STATE_SETUPS.items()]
    for name in ("not_json", "audio_key_traversal", "is_a_folder"):
        cases.append(Case(f"state.{name}.feed", "state", ("feed",), STATE_SETUPS[name]))
    for name in ("not_json", "audio_key_traversal"):
        cases.append(
            Case(f"state.{name}.feed_check", "state", ("feed", "--check"), STATE_SETUPS[name])
        )
    cases.append(
        Case(
            "state.not_json.unpublish",
            "state",
            ("unpublish", "{root}/episodes/2026-11-20-welcome.md"),
            STATE_SETUPS["not_json"],
        )
    )
    return cases

"""The editor's metadata files: every episode and show field broken in each way it can be.

Each case damages one field of the sample episode (or show.yaml) and runs ``publish`` on the
already-published project: the refusal must come before anything is stored or recorded.
"""

from __future__ import annotations

from typing import Any

from badinputs.case import Case
from badinputs.cases_storage import state_matches_storage
from badinputs.damage import (
    CLIP,
    MISSING,
    SHOW,
    WELCOME,
    WELCOME_META,
    WELCOME_NOTES,
    YAML_ALIAS_BOMB,
    Raw,
    edit_bytes,
    episode,
    make_dir,
    remove,
    render_fields,
    show,
    symlink,
    write,
)

PUBLISH = ("publish",)
OTHER_GUID = "042109be-7dcc-4ba6-9ab6-621a6c0c7d56"  # the T5 episode's


def _episode_cases(field: str, variants: dict[str, Any]) -> list[Case]:
    return [
        Case(f"episode.{field}.{name}", "files", PUBLISH, episode({field: value}))
        for name, value in variants.items()
    ]


def _show_cases(field: str, variants: dict[str, Any]) -> list[Case]:
    return [
        Case(f"show.{field}.{name}", "files", PUBLISH, show({field: value}))
        for name, value in variants.items()
    ]


WRONG_TYPES: dict[str, Any] = {"list": ["a", "b"], "mapping": {"a": 1}}

EPISODE_FIELDS: dict[str, dict[str, Any]] = {
    "title": {
        "missing": MISSING,
        "empty": "",
        "blank": "   ",
        "null": None,
        "control_char": "Welcome\x07",
        **WRONG_TYPES,
    },
    "date": {
        "missing": MISSING,
        "empty": "",
        "words": "next tuesday",
        "no_timezone": Raw("2026-11-20 09:00:00"),
        "date_only": Raw("2026-11-20"),
        "feb_30": Raw("2026-02-30 09:00:00 -05:00"),
        "month_13": Raw("2021-13-45 09:00:00 -05:00"),
        "offset_99h": Raw("2026-11-20 09:00:00 +99:00"),
        "quoted_feb_30": "2026-02-30 09:00:00 -05:00",
        "other_day_than_file_name": Raw("2026-11-21 09:00:00 -05:00"),
        "number": 20261120,
        "list": ["2026-11-20"],
    },
    "guid": {
        "missing": MISSING,
        "empty": "",
        "too_long": "g" * 201,
        "control_char": "190bd4dd\x00",
        "list": ["190bd4dd-f34d-4f16-a06a-213eaff1a95a"],
        "other_episodes": OTHER_GUID,
        "changed_after_publish": "a-new-guid-for-a-published-episode",
        "upper_case_of_published": "190BD4DD-F34D-4F16-A06A-213EAFF1A95A",
    },
    "guests": {
        "string": "Ada Lovelace",
        "mapping": {"name": "Ada"},
        "no_name": [{"href": "https://example.org/"}],
        "empty_name": [{"name": ""}],
        "http_href": [{"name": "Ada", "href": "http://example.org/"}],
        "not_a_url_img": [{"name": "Ada", "img": "ada.png"}],
        "unknown_key": [{"name": "Ada", "role": "guest"}],
    },
    "season": {
        "zero": 0,
        "negative": -1,
        "word": "one",
        "fraction": 1.5,
        "bool": True,
    },
    "episode": {"zero": 0, "negative": -3, "word": "x", "fraction": 2.5, "nan": Raw(".nan")},
    "episode_type": {"unknown": "teaser", "empty": "", "number": 1, "list": ["full"]},
    "explicit": {"word": "sometimes", "number": 2, "empty": "", "list": [True]},
    "audio": {
        "missing": MISSING,
        "empty": "",
        "absolute": "/etc/passwd",
        "parent": "../outside.mp3",
        "backslash": "episodes\\audio\\sample-clip.mp3",
        "not_found": "episodes/audio/nope.mp3",
        "folder": "episodes/audio",
        "list": [CLIP],
    },
    "artwork": {
        "not_found": "episodes/art/nope.jpg",
        "absolute": "/etc/hostname",
        "parent": "../art.jpg",
        "folder": "episodes/art",
        "number": 5,
    },
    "transcript": {
        "txt_suffix": "episodes/audio/sample-clip.txt",
        "not_found": "episodes/audio/nope.vtt",
        "absolute": "/etc/hostname",
        "folder": "episodes/audio",
    },
    "chapters": {
        "string": "0:00 Welcome",
        "mapping": {"start": "0:00", "title": "Welcome"},
        "no_title": [{"start": "0:00"}],
        "no_start": [{"title": "Welcome"}],
        "start_words": [{"start": "soon", "title": "Welcome"}],
        "start_negative": [{"start": -5, "title": "Welcome"}],
        "start_nan": [{"start": Raw(".nan"), "title": "Welcome"}],
        "start_inf": [{"start": Raw(".inf"), "title": "Welcome"}],
        "start_minus_inf": [{"start": Raw("-.inf"), "title": "Welcome"}],
        "start_bool": [{"start": True, "title": "Welcome"}],
        "start_bad_clock": [{"start": "1:2:3:4", "title": "Welcome"}],
        "descending": [{"start": "0:03", "title": "B"}, {"start": "0:00", "title": "A"}],
        "duplicate_start": [{"start": "0:00", "title": "A"}, {"start": 0, "title": "B"}],
        "http_url": [{"start": "0:00", "title": "A", "url": "http://example.org/"}],
        "unknown_key": [{"start": "0:00", "title": "A", "colour": "red"}],
        "img_not_found": [{"start": "0:00", "title": "A", "img": "x.png"}],
        "past_the_end": [{"start": "0:00", "title": "A"}, {"start": "9:00:00", "title": "B"}],
    },
    "draft": {"word": "yes please", "number": 3},
    "links": {
        "string": "https://example.org/",
        "no_title": [{"url": "https://example.org/"}],
        "no_url": [{"title": "Paper"}],
        "http_url": [{"title": "Paper", "url": "http://example.org/"}],
        "unknown_key": [{"title": "Paper", "url": "https://example.org/", "kind": "paper"}],
    },
    "intro": {
        "true": True,
        "number": 5,
        "not_found": "episodes/audio/nope.wav",
        "absolute": "/etc/hostname",
        "not_audio": "episodes/audio/sample-clip.vtt",
        "folder": "episodes/audio",
    },
    "outro": {"true": True, "not_found": "episodes/audio/nope.wav", "parent": "../x.wav"},
}


def _episode_text(front: str, notes: str = WELCOME_NOTES) -> str:
    return f"---\n{front}---\n{notes}"


_FRONT = render_fields(WELCOME_META)

EPISODE_FILE_CASES = [
    Case("episode.file.empty", "files", PUBLISH, write(WELCOME, "")),
    Case("episode.file.no_front_matter", "files", PUBLISH, write(WELCOME, WELCOME_NOTES)),
    Case("episode.file.unclosed_front_matter", "files", PUBLISH, write(WELCOME, "---\n" + _FRONT)),
    Case(
        "episode.file.front_matter_is_a_list",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text("- title\n- date\n")),
    ),
    Case(  # editors on Windows save one: it is read as the text it is
        "episode.file.bom_before_front_matter",
        "files",
        PUBLISH,
        write(WELCOME, "\ufeff" + _episode_text(_FRONT)),
        expect="accept",
        check=state_matches_storage,
    ),
    Case(
        "episode.file.yaml_syntax_error",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT + "title: [unclosed\n")),
    ),
    Case(
        "episode.file.tab_indentation",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT + "guests:\n\t- name: Ada\n")),
    ),
    Case(
        "episode.file.raw_control_char_in_yaml",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT.replace("Welcome to", "Welcome\x07to"))),
    ),
    Case(
        "episode.file.not_utf8",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT).encode() + b"\xff\xfe caf\xe9\n"),
    ),
    Case(
        "episode.file.binary_garbage",
        "files",
        PUBLISH,
        write(WELCOME, bytes(range(256)) * 4),
    ),
    Case(
        "episode.file.yaml_alias_bomb",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(YAML_ALIAS_BOMB + _FRONT)),
        mode="subprocess",
        timeout=20,
        memory_limit=1 << 30,
    ),
    Case(
        "episode.file.yaml_python_tag",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT + "extra: !!python/object/apply:os.system [id]\n")),
    ),
    Case(
        "episode.file.unknown_field_typo",
        "files",
        PUBLISH,
        episode({"titel": "Welcome"}),
    ),
    Case(
        "episode.file.duplicate_key",
        "files",
        PUBLISH,
        write(WELCOME, _episode_text(_FRONT + 'title: "Welcome again"\n')),
    ),
    Case(
        "episode.file.bad_file_name",
        "files",
        PUBLISH,
        write("episodes/Welcome Again.md", _episode_text(render_fields(WELCOME_META))),
    ),
    Case(
        "episode.file.notes_too_long",
        "files",
        PUBLISH,
        episode(notes="Word " * 900 + "\n"),
    ),
    Case(
        "episode.file.notes_control_char",
        "files",
        PUBLISH,
        episode(notes="A note with a bell \x07 in it.\n"),
    ),
    Case("episode.file.is_a_folder", "files", PUBLISH, make_dir("episodes/2026-11-21-folder.md")),
    Case(
        "episode.file.symlink_out_of_repo",
        "files",
        PUBLISH,
        symlink("episodes/2026-11-22-passwd.md", "/etc/passwd"),
    ),
    Case(
        "episode.file.dangling_symlink",
        "files",
        PUBLISH,
        symlink("episodes/2026-11-22-gone.md", "/nonexistent/episode.md"),
    ),
    Case(
        "episode.file.nul_bytes",
        "files",
        PUBLISH,
        edit_bytes(WELCOME, lambda data: data.replace(b"Welcome to", b"Welcome\x00to", 1)),
    ),
    Case(
        "episode.file.audio_symlink_out_of_repo",
        "files",
        PUBLISH,
        symlink(CLIP, "/dev/zero"),
    ),
]

SHOW_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"missing": MISSING, "empty": "", "list": ["a"]},
    "description": {"missing": MISSING, "too_long": "é" * 2001, "blank": " "},
    "link": {"http": "http://www.depthfirstlearning.com/", "not_a_url": "depthfirstlearning"},
    "language": {"word": "English", "empty": "", "number": 5},
    "category": {"unknown": "Nonsense", "missing": MISSING},
    "subcategory": {"wrong_parent": "Comedy Interviews"},
    "explicit": {"word": "maybe"},
    "author": {"missing": MISSING},
    "owner": {"missing": MISSING, "string": "Depth First Learning"},
    "owner.email": {"invalid": "team-at-dfl", "missing": MISSING},
    "owner.name": {"missing": MISSING},
    "artwork": {
        "not_found": "episodes/art/nope.jpg",
        "parent": "../show.jpg",
        "absolute": "/etc/hostname",
        "folder": "episodes/art",
    },
    "copyright": {"list": ["2021"]},
    "funding.url": {"http": "http://example.org/"},
    "funding.text": {"too_long": "x" * 129},
    "hosts": {"empty": [], "missing": MISSING, "no_name": [{"href": "https://example.org/"}]},
    "public_url": {
        "http_public_host": "http://audio.depthfirstlearning.com/",
        "ftp": "ftp://audio.depthfirstlearning.com/",
        "missing": MISSING,
        "loopback_prefix_trick": "http://127.0.0.1.evil.example/",
        "localhost_prefix_trick": "http://localhost.evil.example/",
    },
    "feed_name": {
        "no_xml_suffix": "interviews",
        "dot_dot": "..xml",
        "with_folder": "a/b.xml",
        "empty": "",
        "hidden": ".xml",
    },
    "podcast_guid": {"not_a_uuid": "not-a-uuid"},
    "type": {"daily": "daily"},
    "locked": {"word": "maybe"},
    "audio.loudness": {"too_quiet": -40, "word": "loud", "nan": Raw(".nan")},
    "audio.true_peak": {"positive": 1, "nan": Raw(".nan"), "inf": Raw(".inf")},
    "audio.bitrate": {"odd": 100},
    "audio.channels": {"three": 3},
    "audio.sample_rate": {"low": 22050},
    "audio.leveler": {"word": "maybe"},
    "audio.normalise": {"unknown_key": True},
    "storage.location": {"ftp": "ftp://example.org/x", "empty": "", "list": ["storage"]},
    "storage.endpoint_url": {"http": "http://s3.example.org"},
    "storage.addressing_style": {"unknown": "sideways"},
    "storage.analytics_prefix": {"http": "http://op3.dev/e/"},
    "intro": {
        "not_found": "episodes/audio/nope.wav",
        "not_audio": "episodes/audio/sample-clip.vtt",
    },
}

SHOW_FILE_CASES = [
    Case("show.file.missing", "files", PUBLISH, remove(SHOW)),
    Case("show.file.empty", "files", PUBLISH, write(SHOW, "")),
    Case("show.file.a_list", "files", PUBLISH, write(SHOW, "- title\n- link\n")),
    Case("show.file.yaml_syntax_error", "files", PUBLISH, write(SHOW, "title: [unclosed\n")),
    Case(
        "show.file.not_utf8",
        "files",
        PUBLISH,
        write(SHOW, render_fields(WELCOME_META).encode() + b"\xe9\n"),
    ),
    Case(
        "show.file.yaml_alias_bomb",
        "files",
        PUBLISH,
        write(SHOW, YAML_ALIAS_BOMB + render_fields({})),
        mode="subprocess",
        timeout=20,
        memory_limit=1 << 30,
    ),
    Case("show.file.unknown_field", "files", PUBLISH, show({"feed_nmae": "x.xml"})),
    Case("show.file.is_a_folder", "files", PUBLISH, make_dir(SHOW)),
]


def metadata_cases() -> list[Case]:
    cases: list[Case] = []
    for field, variants in EPISODE_FIELDS.items():
        cases += _episode_cases(field, variants)
    cases += EPISODE_FILE_CASES
    for field, variants in SHOW_FIELDS.items():
        cases += _show_cases(field, variants)
    cases += SHOW_FILE_CASES
    # A validate run must say the same as publish, for a few representative fields.
    cases += [
        Case(
            "validate.episode.date.feb_30",
            "files",
            ("validate",),
            episode({"date": Raw("2026-02-30 09:00:00 -05:00")}),
        ),
        Case(
            "validate.episode.chapters.start_nan",
            "files",
            ("validate",),
            episode({"chapters": [{"start": Raw(".nan"), "title": "Welcome"}]}),
        ),
        Case(
            "validate.show.feed_name.dot_dot", "files", ("validate",), show({"feed_name": "..xml"})
        ),
        Case(
            "validate.episode.one_file_named",
            "files",
            ("validate", "{root}/" + WELCOME),
            episode({"explicit": "sometimes"}),
        ),
    ]
    return cases

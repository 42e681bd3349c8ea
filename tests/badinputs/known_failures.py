"""The ONE place that lists cases failing on main, each with its cause.

Each id here is marked ``xfail(strict=True)``: when a fix makes one pass, the suite fails
until the id is removed from this dict (then regenerate its golden row with
``DFL_UPDATE_GOLDEN=1`` and review it). Golden rows of listed cases are kept by the update,
since their actual output is the bug; most are empty, for the lead to fill once fixed.
Causes refer to the items of issue 10's "What to build". Before the three hardening
merges (main at 5eedff1) 107 cases were listed here; after them (main at b3f08ae), these.
"""

from __future__ import annotations

AFTER_SIDE_EFFECTS = "refused only after writing (item 1: preflight)"
TRANSCRIPT_UNCHECKED = "a transcript is parsed only when an intro moves it; else published as is"
NEW_INVALID = "`new` writes an episode file that does not validate"
UNCLEAR = "the message is unclear or names no file and field"

KNOWN_FAILURES: dict[str, str] = {
    # -- item 1: refusals after side effects
    "storage.lock.is_a_folder": AFTER_SIDE_EFFECTS + ": the state is rewritten first",
    "validate.show.feed_name.dot_dot": "validate passes feed_name '..xml', which publish refuses",
    "cli.storage.inside_episodes": "storage inside episodes/ is accepted and written into",
    # -- item 5: state fields, serve
    "state.transcript_type_html": "state field transcript_type is not validated on load (item 5)",
    "cli.serve.storage_folder_missing": "serve serves a storage folder that does not exist",
    # -- found by this suite besides issue 10's list
    "transcript.vtt.no_header": TRANSCRIPT_UNCHECKED,
    "transcript.vtt.empty": TRANSCRIPT_UNCHECKED,
    "transcript.vtt.binary": TRANSCRIPT_UNCHECKED,
    "transcript.vtt.bad_timestamp": TRANSCRIPT_UNCHECKED,
    "transcript.srt.malformed": TRANSCRIPT_UNCHECKED,
    "transcript.json.not_json": TRANSCRIPT_UNCHECKED,
    "transcript.json.wrong_shape": TRANSCRIPT_UNCHECKED,
    "cli.new.empty_title": NEW_INVALID,
    "cli.new.control_char_title": NEW_INVALID,
    "episode.season.bool": "season: true is taken as season 1",
    "episode.file.symlink_out_of_repo": "an episode file symlinked out of the repository is read",
    "episode.audio.empty": UNCLEAR + ": audio: '' says 'file not found: .'",
    "audio.source.too_short": UNCLEAR + ": a 50 ms recording is reported as silent",
    "show.storage.location.ftp": UNCLEAR + ": names neither show.yaml nor storage.location",
    "episode.intro.not_audio": UNCLEAR + ": ffmpeg's 'add a trailing ? to the map'",
    "show.intro.not_audio": UNCLEAR + ": ffmpeg's 'add a trailing ? to the map'",
}

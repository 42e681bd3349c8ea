"""What the files hold: source audio, artwork images, transcripts.

Audio cases replace the sample episode's recording (so publish sees a changed source and
must decode it); a few valid-but-unusual recordings must be accepted and published right.
"""

from __future__ import annotations

import json

from badinputs.case import Case
from badinputs.damage import (
    ART,
    CLIP,
    MISSING,
    SHOW_ART,
    STATE,
    VTT,
    chain,
    edit_bytes,
    episode,
    image_bytes,
    make_dir,
    show,
    streamed_wav,
    wav_bytes,
    write,
)
from badinputs.runner import Context

PUBLISH = ("publish",)
GARBAGE = bytes((i * 73 + 41) % 256 for i in range(40_000))


def _new_source(name: str, data: bytes) -> list[object]:
    """The episode's audio field pointing at a new file with these bytes (and no transcript:
    the sample's would outlast a short synthetic recording, which says nothing anyway)."""
    rel = f"episodes/audio/{name}"
    one_chapter = [{"start": "0:00", "title": "Welcome"}]  # so no chapter outlasts the audio
    return [
        write(rel, data),
        episode({"audio": rel, "chapters": one_chapter, "transcript": MISSING}),
    ]


def published_at_target(ctx: Context) -> str:
    """Verdict for accepted audio: stored as recorded, and near the show's loudness target."""
    root = ctx.root
    state = json.loads((root / STATE).read_text(encoding="utf-8"))
    (record,) = state["episodes"].values()
    stored = root / "storage" / record["audio_key"]
    if not stored.is_file() or stored.stat().st_size != record["audio_bytes"]:
        return f"stored audio missing or of another size: {record['audio_key']}"
    lufs = record.get("output_lufs")
    if lufs is None or abs(lufs - -16.0) > 1.0:
        return f"published at {lufs} LUFS, not -16 +- 1"
    return "published at the loudness target"


def _audio(name: str, *steps: object, expect: str = "refuse") -> Case:
    return Case(
        f"audio.source.{name}",
        "audio",
        PUBLISH,
        chain(*steps),  # type: ignore[arg-type]
        expect=expect,  # type: ignore[arg-type]
        check=published_at_target if expect == "accept" else None,
    )


AUDIO_CASES = [
    _audio("empty", write(CLIP, b"")),
    _audio("garbage_bytes", write(CLIP, GARBAGE)),
    _audio("text_named_mp3", write(CLIP, "this is not audio\n")),
    _audio("truncated_mp3", edit_bytes(CLIP, lambda data: data[:1500])),
    _audio("replaced_by_folder", make_dir(CLIP)),
    _audio("wav_header_only", *_new_source("header.wav", wav_bytes(0))),
    _audio("too_short", *_new_source("blip.wav", wav_bytes(0.05))),
    _audio("digital_silence", *_new_source("silence.wav", wav_bytes(5.0, level=0.0))),
    _audio("wav_data_cut_short", *_new_source("cut.wav", wav_bytes(3.0)[:60])),
    _audio("riff_of_another_kind", *_new_source("avi.wav", b"RIFF\x24\x00\x00\x00AVI " + GARBAGE)),
    _audio(
        "mp3_bytes_named_wav",
        chain(
            lambda root: (root / "episodes/audio/clip.wav").write_bytes((root / CLIP).read_bytes())
        ),
        episode({"audio": "episodes/audio/clip.wav"}),
        expect="accept",
    ),
    _audio(
        "streamed_wav_size_ffffffff",
        *_new_source("streamed.wav", streamed_wav(5.0)),
        expect="accept",
    ),
    _audio(
        "large_dc_offset",
        *_new_source("dc.wav", wav_bytes(5.0, level=0.2, dc=0.4)),
        expect="accept",
    ),
]


def _art(where: str, name: str, data: bytes | str, *, png: bool = False) -> Case:
    if where == "episode":
        rel = ART.replace(".jpg", ".png") if png else ART
        steps = [write(rel, data)] + ([episode({"artwork": rel})] if png else [])
    else:
        rel = SHOW_ART.replace(".jpg", ".png") if png else SHOW_ART
        steps = [write(rel, data)] + ([show({"artwork": rel})] if png else [])
    return Case(f"art.{where}.{name}", "files", PUBLISH, chain(*steps))


ARTWORK_CASES = [
    _art("episode", "too_small", image_bytes((100, 100))),
    _art("episode", "not_square", image_bytes((1400, 1500))),
    _art("episode", "too_big", image_bytes((3100, 3100))),
    _art("episode", "png_named_jpg", image_bytes((1400, 1400), "PNG")),
    _art("episode", "gif_named_jpg", image_bytes((1400, 1400), "GIF", "P")),
    _art("episode", "cmyk_jpeg", image_bytes((1400, 1400), "JPEG", "CMYK")),
    _art("episode", "garbage", GARBAGE),
    _art("episode", "empty", b""),
    _art("episode", "text", "not an image\n"),
    Case("art.episode.truncated", "files", PUBLISH, edit_bytes(ART, lambda data: data[:3000])),
    _art("show", "too_small", image_bytes((600, 600))),
    _art("show", "grayscale", image_bytes((1400, 1400), "JPEG", "L")),
    _art("show", "transparent_png", image_bytes((1400, 1400), "PNG", "RGBA"), png=True),
    _art("show", "garbage", GARBAGE),
    _art("show", "empty", b""),
    Case("art.show.truncated", "files", PUBLISH, edit_bytes(SHOW_ART, lambda data: data[:3000])),
]

VTT_CUE = "00:00:00.250 --> 00:00:02.697\nWelcome.\n"
INTRO = "episodes/audio/intro.wav"


def _transcript(name: str, suffix: str, data: bytes | str, *, intro: bool = False) -> Case:
    rel = VTT if suffix == ".vtt" else f"episodes/audio/sample-clip{suffix}"
    steps = [write(rel, data)]
    if suffix != ".vtt":
        steps.append(episode({"transcript": rel}))
    if intro:  # an intro moves every cue, so the transcript is parsed before publishing
        steps += [write(INTRO, wav_bytes(1.0)), show({"intro": INTRO})]
    kind = suffix.lstrip(".")
    return Case(
        f"transcript.{kind}.{name}{'_with_intro' if intro else ''}", "files", PUBLISH, chain(*steps)
    )


TRANSCRIPT_CASES = [
    _transcript("no_header", ".vtt", VTT_CUE),
    _transcript("empty", ".vtt", ""),
    _transcript("binary", ".vtt", GARBAGE),
    _transcript("bad_timestamp", ".vtt", "WEBVTT\n\n00:00:xx --> 1\nWelcome.\n"),
    _transcript("no_header", ".vtt", VTT_CUE, intro=True),
    _transcript("bad_timestamp", ".vtt", "WEBVTT\n\n00:00:xx --> 1\nWelcome.\n", intro=True),
    _transcript("not_utf8", ".vtt", b"WEBVTT\n\n" + VTT_CUE.encode() + b"caf\xe9\n", intro=True),
    _transcript("malformed", ".srt", "1\nnot a time line\nWelcome.\n"),
    _transcript("not_json", ".json", "{not json"),
    _transcript("wrong_shape", ".json", json.dumps({"segments": "all of them"})),
    _transcript("not_json", ".json", "{not json", intro=True),
    _transcript(
        "past_the_end", ".vtt", f"WEBVTT\n\n{VTT_CUE}\n00:00:09.000 --> 00:00:10.000\nLate.\n"
    ),
    _transcript(
        "overlap_and_unordered",
        ".vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nA.\n\n00:00:02.000 --> 00:00:04.000\nB.\n\n"
        "00:00:00.500 --> 00:00:00.900\nC.\n",
    ),
    _transcript("no_captions", ".html", "<p>Not a caption page.</p>\n"),
    _transcript(
        "bad_time",
        ".html",
        '<div class="caption">\n<div class="speaker">Ann</div>\n<div class="time">[0:2]</div>\n'
        '<div class="content">Hello [00:00:05] again [00:61:00] and bye.</div>\n</div>\n',
    ),
    _transcript(
        "segment_without_start",
        ".json",
        json.dumps({"version": "1.0.0", "segments": [{"body": "Hi", "endTime": 1}]}),
        intro=True,
    ),
]


def content_cases() -> list[Case]:
    return AUDIO_CASES + ARTWORK_CASES + TRANSCRIPT_CASES

"""One transcript source, every format: DFL caption pages, located problems, and what publish
stores and lists (WebVTT, SRT, JSON and HTML, each its own ``podcast:transcript``)."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import urllib.request
from pathlib import Path

import lxml.html
import pytest
import webvtt
from click.testing import CliRunner
from lxml import etree
from project_fixtures import REPO, SAMPLE_EPISODE, edit, output_bytes, project

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.gc import referenced
from dfl_audio.records import StoredTranscript
from dfl_audio.serve import Site, start
from dfl_audio.state import load_state
from dfl_audio.transcript_cues import Cue, clock_seconds, format_clock, read_cues
from dfl_audio.transcripts import TranscriptSource, published_transcripts

__all__ = ["project"]

GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
STATE = "feeds/interviews.published.json"
FEED = "feeds/interviews.xml"
PUBLIC = "https://audio.depthfirstlearning.com/"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
CAPTIONS = "episodes/captions/emilydenton.peopleback.html"
SAMPLE_SECONDS = 7.76  # episodes/audio/sample-clip.mp3, as probed

# A DFL caption page as the site keeps them (div.captions > div.caption > div.speakerTime >
# div.speaker + div.time, and div.content), on several lines so problems have lines. The
# second turn carries an inline mark; its speaker div a stray mark (the real pages do that).
PAGE = """\
<div class="captions">
<div class="caption"><div class="speakerTime"><div class="speaker speaker0">Cinjon Resnick</div>
<div class="time">[00:00:00]</div></div>
<div class="content">Welcome to the interviews.</div></div>
<div class="caption"><div class="speakerTime">
<div class="speaker speaker1">[00:00:02] Emily Denton</div>
<div class="time">[00:00:02]</div></div>
<div class="content">Thanks for having me.
[00:00:04] Happy to be here, truly &amp; gladly.</div></div>
<div class="caption"><div class="speakerTime"><div class="speaker speaker0">Cinjon Resnick</div>
<div class="time">[00:00:06]</div></div>
<div class="content">So, how did it all begin?</div></div>
</div>
"""


def invoke(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def use_transcript(project: Project, rel: str, text: str) -> None:
    path = project.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    edit(
        project.root / SAMPLE_EPISODE,
        "transcript: episodes/audio/sample-clip.vtt",
        f"transcript: {rel}",
    )


# --- reading a DFL caption page -------------------------------------------------------------


def test_a_caption_page_reads_as_cues_split_at_its_inline_marks() -> None:
    cues = read_cues(PAGE.encode(), CAPTIONS, duration=SAMPLE_SECONDS)
    assert cues == [
        Cue(0.0, 2.0, "Welcome to the interviews.", "Cinjon Resnick"),
        Cue(2.0, 4.0, "Thanks for having me.", "Emily Denton"),
        Cue(4.0, 6.0, "Happy to be here, truly & gladly.", "Emily Denton"),
        Cue(6.0, SAMPLE_SECONDS, "So, how did it all begin?", "Cinjon Resnick"),
    ]


def test_without_the_audio_the_last_cue_lasts_as_long_as_its_words_take() -> None:
    last = read_cues(PAGE.encode(), CAPTIONS)[-1]
    assert (last.start, last.end) == (6.0, 8.4)  # six words at 150 a minute


def test_a_page_of_one_caption_reads_once() -> None:
    page = '<div class="caption"><div class="speaker">Ann</div><div class="time">[00:00:01]</div>'
    page += '<div class="content">Hello.</div></div>'
    assert read_cues(page.encode(), CAPTIONS, duration=3.0) == [Cue(1.0, 3.0, "Hello.", "Ann")]


def test_a_mark_at_the_next_turns_time_splits_nothing() -> None:
    """The pages round to the second: a mark often falls on the time the next turn starts."""
    page = PAGE.replace("[00:00:04] Happy", "[00:00:06] Happy")
    cues = read_cues(page.encode(), CAPTIONS, duration=SAMPLE_SECONDS)
    assert [(c.start, c.end, c.speaker) for c in cues] == [
        (0.0, 2.0, "Cinjon Resnick"),
        (2.0, 6.0, "Emily Denton"),
        (6.0, SAMPLE_SECONDS, "Cinjon Resnick"),
    ]
    assert cues[1].text == "Thanks for having me. Happy to be here, truly & gladly."


def test_a_long_turn_becomes_captions_of_two_lines_and_stays_whole_elsewhere() -> None:
    """A minute-long answer is one cue in the page: on screen, two lines at a time."""
    answer = " ".join(f"Sentence {n} of a long answer about learned optimizers." for n in range(12))
    page = PAGE.replace("So, how did it all begin?", answer)
    forms = published_transcripts(TranscriptSource(CAPTIONS, page.encode(), 0.0, 66.0, "T", "en"))
    captions = webvtt.from_string(forms[".vtt"].decode(), strict=True).captions[3:]
    assert len(captions) > 3
    assert all(
        len(c.raw_text.removeprefix("<v Cinjon Resnick>").splitlines()) <= 2 for c in captions
    )
    assert all(len(line) <= 65 for c in captions for line in c.text.splitlines())
    assert " ".join(c.text.replace("\n", " ") for c in captions) == answer
    assert (captions[0].start, captions[-1].end) == ("00:00:06.000", "00:01:06.000")
    assert all(a.end == b.start for a, b in itertools.pairwise(captions))
    srt = webvtt.from_buffer(io.StringIO(forms[".srt"].decode()), format="srt")
    assert len(srt.captions) == len(captions) + 3
    segments = json.loads(forms[".json"])["segments"]
    assert segments[-1]["body"] == answer  # the JSON and HTML keep the turn whole


# --- located problems, every one in one run ---------------------------------------------------


def test_every_problem_of_a_caption_page_is_located_at_its_line(project: Project) -> None:
    page = (
        PAGE.replace('<div class="time">[00:00:02]</div>', '<div class="time">[0:02]</div>')
        .replace("[00:00:04] Happy", "[00:00:01] Happy")
        .replace("So, how", "So, [00:99:00] how")
    )
    use_transcript(project, CAPTIONS, page)
    code, out, err = invoke(project.root, "validate")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{CAPTIONS}:7: transcript: malformed timestamp '[0:02]' (expected [HH:MM:SS])",
        f"{CAPTIONS}:12: transcript: malformed timestamp '[00:99:00]' inside a turn "
        "(expected [HH:MM:SS])",
        "Error: 2 problems",
    ]
    fixed = page.replace("[0:02]", "[00:00:02]").replace("[00:99:00] ", "")
    use_transcript_again(project, CAPTIONS, fixed)
    code, out, err = invoke(project.root, "validate")
    assert (code, err) == (
        1,
        f"Error: {CAPTIONS}:9: transcript: caption 2 (its mark [00:00:01]) starts at "
        "00:00:01.000, before caption 2 (00:00:02.000): cues must be in time order\n",
    )


def use_transcript_again(project: Project, rel: str, text: str) -> None:
    (project.root / rel).write_text(text, encoding="utf-8")


VTT = """\
WEBVTT

00:00:00.250 --> 00:00:02.697
<v Host>Welcome to the Depth First Learning interviews.

00:00:02.500 --> 00:00:05.453
<v Guest>Thanks for having me.

00:00:05.653 --> 00:00:0x.478
<v Host>So, how did it all begin?

00:00:01.000 --> 00:00:01.900
<v Guest>Out of order.
"""


def test_every_problem_of_a_vtt_is_located_in_one_run(project: Project) -> None:
    rel = "episodes/audio/sample-clip.vtt"
    use_transcript_again(project, rel, VTT)
    code, out, err = invoke(project.root, "validate", str(project.root / SAMPLE_EPISODE))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{rel}:6: transcript: cue 2 starts at 00:00:02.500, before cue 1 ends (00:00:02.697): "
        "cues must not overlap",
        f"{rel}:9: transcript: malformed timestamp '00:00:0x.478' (expected [HH:]MM:SS.mmm)",
        f"{rel}:12: transcript: cue 4 starts at 00:00:01.000, before cue 2 (00:00:02.500): "
        "cues must be in time order",
        "Error: 3 problems",
    ]


def test_an_overlap_within_the_tolerance_is_accepted(project: Project) -> None:
    """Caption editors snap edges to video frames: 40 ms of overlap is not an error."""
    rel = "episodes/audio/sample-clip.vtt"
    text = (REPO / rel).read_text(encoding="utf-8").replace("00:00:02.897", "00:00:02.657")
    use_transcript_again(project, rel, text)
    assert invoke(project.root, "-q", "validate")[0] == 0


def test_json_problems_name_the_segment_and_its_line(project: Project) -> None:
    rel = "episodes/audio/sample-clip.json"
    document = {
        "version": "1.0.0",
        "segments": [
            {"speaker": "Host", "startTime": 0.25, "endTime": 2.7, "body": "Welcome."},
            {"speaker": "Guest", "startTime": "2.9", "endTime": 5.4, "body": "Thanks."},
            {"speaker": "Host", "startTime": 2.0, "body": "So?"},
        ],
    }
    use_transcript(project, rel, json.dumps(document, indent=2))
    code, _, err = invoke(project.root, "validate")
    assert code == 1
    assert err.splitlines() == [
        f'{rel}:12: transcript: segments[1].startTime must be a number of seconds, not "2.9"',
        f"{rel}:18: transcript: segments[2] starts at 00:00:02.000, before segments[0] ends "
        "(00:00:02.700): cues must not overlap",
        "Error: 2 problems",
    ]


def test_a_json_source_without_end_times_is_published_with_an_intro(project: Project) -> None:
    """``endTime`` is optional in the spec: each segment ends where the next begins."""
    rel = "episodes/audio/sample-clip.json"
    segments = [
        {"speaker": "Host", "startTime": 0.25, "body": "Welcome."},
        {"speaker": "Guest", "startTime": 2.9, "body": "Thanks for having me."},
    ]
    use_transcript(project, rel, json.dumps({"version": "1.0.0", "segments": segments}))
    intro = project.root / "episodes/audio/sample-clip.mp3"
    with (project.root / "episodes/show.yaml").open("a", encoding="utf-8") as handle:
        handle.write(f"intro: {intro.relative_to(project.root)}\n")  # the sample as its own intro
    code, _, err = invoke(project.root, "-q", "publish")
    assert code == 0, err
    record = load_state(project.root / STATE).episodes[GUID]
    assert record.intro_seconds > 1
    own = json.loads((project.root / "storage" / record.transcripts[2].key).read_bytes())
    assert "endTime" not in own["segments"][0]  # the editor's file, re-timed as written
    assert own["segments"][0]["startTime"] == pytest.approx(0.25 + record.intro_seconds, abs=1e-3)
    vtt = webvtt.from_string((project.root / "storage" / record.transcripts[0].key).read_text())
    assert [c.voice for c in vtt] == ["Host", "Guest"]
    assert clock_seconds(vtt.captions[0].end) == pytest.approx(2.9 + record.intro_seconds, abs=1e-3)


def test_a_cue_past_the_end_of_the_audio_is_found_by_validate_audio_and_publish(
    project: Project,
) -> None:
    rel = "episodes/audio/sample-clip.vtt"
    late = (REPO / rel).read_text(encoding="utf-8") + (
        "\n00:00:09.000 --> 00:00:10.500\n<v Guest>After the end.\n"
    )
    use_transcript_again(project, rel, late)
    assert invoke(project.root, "-q", "validate") == (0, "", "")  # the length is not known yet
    message = (
        f"Error: {rel}:12: transcript: cue 4 starts at 00:00:09.000, after the end of the audio "
        "(00:00:07.758)\n"
    )
    assert invoke(project.root, "validate", "--audio") == (1, "", message)
    before = output_bytes(project.root)
    assert invoke(project.root, "publish") == (1, "", message)
    assert output_bytes(project.root) == before  # refused before anything was stored


# --- publishing every format ------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample published through the CLI with the DFL caption page as its transcript."""
    root = tmp_path_factory.mktemp("captions")
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    use_transcript(Project(root), CAPTIONS, PAGE)
    code, _, err = invoke(root, "-q", "publish")
    assert code == 0, err
    return root


@pytest.fixture
def copy(published: Path, tmp_path: Path) -> Path:
    shutil.copytree(published, tmp_path / "project")
    return tmp_path / "project"


def transcript_elements(root: Path) -> list[dict[str, str]]:
    item = etree.parse(root / FEED).find("channel/item")
    return [dict(found.attrib) for found in item.iterfind(PODCAST + "transcript")]


def stored(root: Path, url: str) -> bytes:
    return (root / "storage" / url.removeprefix(PUBLIC)).read_bytes()


def test_the_feed_lists_each_format_as_its_own_transcript(published: Path) -> None:
    elements = transcript_elements(published)
    assert [(e["type"], e.get("rel"), e["language"]) for e in elements] == [
        ("text/vtt", "captions", "en"),
        ("application/x-subrip", "captions", "en"),
        ("application/json", None, "en"),
        ("text/html", None, "en"),
    ]
    suffixes = [Path(element["url"]).suffix for element in elements]
    assert suffixes == [".vtt", ".srt", ".json", ".html"]
    assert all(e["url"].startswith(PUBLIC + "audio/welcome-") for e in elements)


def test_the_stored_webvtt_and_srt_read_back_with_their_speakers(published: Path) -> None:
    vtt_url, srt_url = (element["url"] for element in transcript_elements(published)[:2])
    vtt = webvtt.from_string(stored(published, vtt_url).decode(), strict=True)
    assert [(c.start, c.end, c.voice, c.text) for c in vtt] == [
        ("00:00:00.000", "00:00:02.000", "Cinjon Resnick", "Welcome to the interviews."),
        ("00:00:02.000", "00:00:04.000", "Emily Denton", "Thanks for having me."),
        # "&" escaped as WebVTT requires (webvtt-py shows cue text as written)
        ("00:00:04.000", "00:00:06.000", "Emily Denton", "Happy to be here, truly &amp; gladly."),
        (
            "00:00:06.000",
            vtt.captions[-1].end,
            "Cinjon Resnick",
            "So, how did it all begin?",
        ),
    ]
    assert clock_seconds(vtt.captions[-1].end) == pytest.approx(SAMPLE_SECONDS, abs=0.1)
    srt = webvtt.from_buffer(io.StringIO(stored(published, srt_url).decode()), format="srt")
    assert [c.text for c in srt] == [
        "Cinjon Resnick: Welcome to the interviews.",
        "Emily Denton: Thanks for having me.",
        "Emily Denton: Happy to be here, truly & gladly.",
        "Cinjon Resnick: So, how did it all begin?",
    ]
    assert [c.start for c in srt] == [c.start for c in vtt]


def test_the_stored_json_keeps_the_speakers(published: Path) -> None:
    url = transcript_elements(published)[2]["url"]
    document = json.loads(stored(published, url))
    assert document["version"] == "1.0.0"
    segments = document["segments"]
    assert [(s["speaker"], s["startTime"], s["body"]) for s in segments] == [
        ("Cinjon Resnick", 0.0, "Welcome to the interviews."),
        ("Emily Denton", 2.0, "Thanks for having me."),
        ("Emily Denton", 4.0, "Happy to be here, truly & gladly."),
        ("Cinjon Resnick", 6.0, "So, how did it all begin?"),
    ]
    assert segments[-1]["endTime"] == pytest.approx(SAMPLE_SECONDS, abs=0.1)  # the MP3's end


def test_the_stored_html_is_the_specs_cite_time_p_form(published: Path) -> None:
    url = transcript_elements(published)[3]["url"]
    page = lxml.html.fromstring(stored(published, url))
    body = page.find("body")
    assert [(child.tag, child.text_content()) for child in body] == [
        ("cite", "Cinjon Resnick:"),
        ("time", "0:00"),
        ("p", "Welcome to the interviews."),
        ("cite", "Emily Denton:"),
        ("time", "0:02"),
        ("p", "Thanks for having me."),
        ("time", "0:04"),
        ("p", "Happy to be here, truly & gladly."),
        ("cite", "Cinjon Resnick:"),
        ("time", "0:06"),
        ("p", "So, how did it all begin?"),
    ]
    assert page.get("lang") == "en"


def test_each_transcript_is_served_with_its_content_type(published: Path) -> None:
    feed = (published / FEED).read_bytes()
    server, base = start(Site(published / "storage", "interviews.xml", feed, (PUBLIC,)), port=0)
    try:
        types = []
        for element in transcript_elements(published):
            url = element["url"].replace(PUBLIC, base)
            with urllib.request.urlopen(url, timeout=5) as response:
                types.append(response.headers["Content-Type"])
    finally:
        server.shutdown()
    assert types == [
        "text/vtt",
        "application/x-subrip",
        "application/json",
        "text/html; charset=utf-8",
    ]


def test_the_state_lists_every_transcript_and_gc_keeps_them(published: Path) -> None:
    state = load_state(published / STATE)
    record = state.episodes[GUID]
    assert [t.type for t in record.transcripts] == [
        "text/vtt",
        "application/x-subrip",
        "application/json",
        "text/html",
    ]
    assert set(record.transcript_keys) <= referenced(state)


def stored_files(root: Path) -> dict[str, int]:
    """Every stored object (not the storage's own hidden index) and when it was written."""
    return {
        path.relative_to(root / "storage").as_posix(): path.stat().st_mtime_ns
        for path in (root / "storage").rglob("*")
        if path.is_file() and ".dfl-index" not in path.parts
    }


def test_validate_checks_a_published_transcript_against_the_published_audio(copy: Path) -> None:
    """Without --audio, the length the state records is the end a transcript edit must fit."""
    page = PAGE.replace("[00:00:06]", "[00:00:09]")
    (copy / CAPTIONS).write_text(page, encoding="utf-8")
    code, out, err = invoke(copy, "validate")
    record = load_state(copy / STATE).episodes[GUID]
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {CAPTIONS}:11: transcript: caption 3 starts at 00:00:09.000, after the end of "
        f"the audio ({format_clock(record.duration)})\n"
    )
    assert invoke(copy, "feed")[0] == 1  # what feed refuses, validate said first


def test_a_republish_writes_nothing(copy: Path) -> None:
    before = stored_files(copy)
    assert invoke(copy, "-q", "publish")[0] == 0
    assert stored_files(copy) == before


def test_a_transcript_edit_gives_new_keys_under_the_same_guid(copy: Path) -> None:
    old = transcript_elements(copy)
    page = copy / CAPTIONS
    page.write_text(PAGE.replace("how did it all begin", "did it begin"), encoding="utf-8")
    code, out, err = invoke(copy, "feed")
    assert code == 0, err
    assert "feed updated" in out
    new = transcript_elements(copy)
    assert all(a["url"] != b["url"] for a, b in zip(old, new, strict=True))
    assert etree.parse(copy / FEED).findtext("channel/item/guid") == GUID
    assert b"did it begin" in stored(copy, new[0]["url"])
    state = load_state(copy / STATE)
    assert {e["url"].removeprefix(PUBLIC) for e in old} <= set(state.superseded)  # kept a while
    assert all((copy / "storage" / e["url"].removeprefix(PUBLIC)).is_file() for e in old)


def test_an_old_state_file_with_one_transcript_still_loads(copy: Path) -> None:
    """State files written before the list held ``transcript_key``/``transcript_type``."""
    data = json.loads((copy / STATE).read_text())
    record = data["episodes"][GUID]
    first = record.pop("transcripts")[0]
    record["transcript_key"], record["transcript_type"] = first["key"], first["type"]
    (copy / STATE).write_text(json.dumps(data))
    loaded = load_state(copy / STATE).episodes[GUID]
    assert loaded.transcripts == (StoredTranscript(key=first["key"], type="text/vtt"),)
    assert invoke(copy, "-q", "feed")[0] == 0  # the next run records every format
    again = json.loads((copy / STATE).read_text())["episodes"][GUID]
    assert "transcript_key" not in again
    assert [t["type"] for t in again["transcripts"]] == [
        "text/vtt",
        "application/x-subrip",
        "application/json",
        "text/html",
    ]
    assert len(transcript_elements(copy)) == 4


def test_an_unchanged_run_does_not_make_the_forms_again(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their digests are remembered in .dfl-audio/: a long show's feed run stays fast."""
    from dfl_audio import side_files

    assert invoke(copy, "-q", "feed")[0] == 0  # remembers the copy's stamps
    side_files._published_forms.cache_clear()

    def must_not_run(source: object) -> dict[str, bytes]:
        raise AssertionError("the forms were made again")

    monkeypatch.setattr(side_files, "published_transcripts", must_not_run)
    before = (copy / FEED).read_bytes()
    assert invoke(copy, "feed", "--check") == (0, "feed is up to date\n", "")
    assert invoke(copy, "-q", "feed")[0] == 0
    assert (copy / FEED).read_bytes() == before


def test_a_lost_transcript_object_is_made_and_stored_again(copy: Path) -> None:
    url = transcript_elements(copy)[3]["url"]
    stored_copy = stored(copy, url)
    (copy / "storage" / url.removeprefix(PUBLIC)).unlink()
    assert invoke(copy, "-q", "feed")[0] == 0
    assert stored(copy, url) == stored_copy

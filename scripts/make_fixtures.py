"""Make the small committed files of the sample show and its sample episode.

Run from anywhere (paths are relative to the repository root)::

    .venv/bin/python scripts/make_fixtures.py

It needs Pillow (in the virtualenv), ``espeak-ng`` and ``ffmpeg`` on ``PATH``, and
overwrites these files:

- ``episodes/art/show.jpg``: 1400x1400 RGB JPEG show artwork (a depth-first search tree
  under the "DFL" letters), under 150 KB.
- ``episodes/art/sample.jpg``: 1400x1400 RGB JPEG artwork of the sample episode, under 150 KB.
- ``episodes/audio/sample-clip.mp3``: 5-8 s of two synthetic voices taking turns like an
  interview (espeak-ng), mono, libmp3lame 64 kbit/s, no tags, under 200 KB.
- ``episodes/audio/sample-clip.vtt``: its WebVTT transcript, one cue per line spoken, with
  ``<v Speaker>`` voice tags and times taken from the lengths of the spoken parts.

Output is reproducible with the same espeak-ng, ffmpeg and Pillow versions: nothing
random, no dates, and ffmpeg runs bit-exact without metadata. Speech is synthetic so the
repository holds no one's voice; it is only there so every stage has real audio to work on.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT / "episodes" / "art"
AUDIO = ROOT / "episodes" / "audio"

SIDE = 1400
MAX_ART_BYTES = 150_000
MAX_CLIP_BYTES = 200_000
GAP_S = 0.2  # silence between speakers
LEAD_S = 0.25  # silence before the first word and after the last


@dataclass(frozen=True)
class Palette:
    background: tuple[int, int, int]
    edge: tuple[int, int, int]
    node: tuple[int, int, int]
    path: tuple[int, int, int]  # the depth-first path, highlighted
    text: tuple[int, int, int]


SHOW_PALETTE = Palette(
    (16, 24, 40), (70, 86, 112), (120, 138, 168), (244, 178, 62), (236, 240, 246)
)
EPISODE_PALETTE = Palette(
    (18, 44, 46), (62, 104, 104), (112, 160, 156), (250, 128, 98), (236, 244, 242)
)


@dataclass(frozen=True)
class Line:
    speaker: str
    voice: str  # espeak-ng voice name, with a variant after "+"
    text: str


SCRIPT = (
    Line("Host", "en-us+m3", "Welcome to the Depth First Learning interviews."),
    Line("Guest", "en-gb+f3", "Thanks for having me. Happy to be here."),
    Line("Host", "en-us+m3", "So, how did it all begin?"),
)


def main() -> int:
    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            print(f"make_fixtures: {tool} is not on PATH", file=sys.stderr)
            return 1
    ART.mkdir(parents=True, exist_ok=True)
    AUDIO.mkdir(parents=True, exist_ok=True)
    made = [
        write_jpeg(
            ART / "show.jpg", cover("DFL", "Depth First Learning", "INTERVIEWS", SHOW_PALETTE)
        ),
        write_jpeg(
            ART / "sample.jpg", cover("DFL", "Sample episode", "INTERVIEWS", EPISODE_PALETTE, 1)
        ),
        *make_clip(AUDIO / "sample-clip.mp3", AUDIO / "sample-clip.vtt"),
    ]
    for path in made:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")
    return 0


# --- artwork -------------------------------------------------------------------------------


def cover(title: str, line1: str, line2: str, palette: Palette, variant: int = 0) -> Image.Image:
    """Flat, high-contrast art that stays legible as a 60 px thumbnail in a podcast app."""
    image = Image.new("RGB", (SIDE, SIDE), palette.background)
    draw = ImageDraw.Draw(image)
    draw_tree(draw, palette, variant)
    draw_centered(draw, title, 330, 740, palette.text)
    draw_centered(draw, line1, 96, 1030, palette.text)
    draw.rectangle((SIDE // 2 - 90, 1107, SIDE // 2 + 90, 1113), fill=palette.path)
    draw_centered(draw, line2, 64, 1185, palette.path)
    return image


def draw_tree(draw: ImageDraw.ImageDraw, palette: Palette, variant: int) -> None:
    """A binary tree of depth 3 along the top, with one root-to-leaf path lit up."""
    depth, top, step, radius, margin = 4, 150, 105, 22, 150
    width = SIDE - 2 * margin
    nodes = {
        (level, index): (margin + width * (2 * index + 1) // 2 ** (level + 1), top + level * step)
        for level in range(depth)
        for index in range(2**level)
    }
    lit = {(level, _lit_index(level, variant)) for level in range(depth)}
    for (level, index), (x, y) in nodes.items():
        if level:
            parent = (level - 1, index // 2)
            px, py = nodes[parent]
            on_path = (level, index) in lit and parent in lit
            colour = palette.path if on_path else palette.edge
            draw.line((px, py, x, y), fill=colour, width=10 if on_path else 6)
    for key, (x, y) in nodes.items():
        colour = palette.path if key in lit else palette.node
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def _lit_index(level: int, variant: int) -> int:
    """The node of ``level`` on the highlighted path: leftmost for the show, then others."""
    leaf = (0, 5, 2, 6)[variant % 4]
    return leaf >> (3 - level)


def draw_centered(
    draw: ImageDraw.ImageDraw, text: str, size: int, middle_y: int, fill: tuple[int, int, int]
) -> None:
    font = ImageFont.load_default(size=size)  # Pillow's bundled font, scaled: no system fonts
    draw.text((SIDE // 2, middle_y), text, font=font, fill=fill, anchor="mm")


def write_jpeg(path: Path, image: Image.Image) -> Path:
    for quality in (90, 85, 80, 70):
        path.unlink(missing_ok=True)
        image.save(path, format="JPEG", quality=quality, optimize=True)
        if path.stat().st_size < MAX_ART_BYTES:
            return path
    raise SystemExit(f"{path}: cannot get under {MAX_ART_BYTES} bytes")


# --- audio ---------------------------------------------------------------------------------


def make_clip(mp3: Path, vtt: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="dfl-fixtures-") as tmp:
        parts = [speak(line, Path(tmp) / f"line{i}.wav") for i, line in enumerate(SCRIPT)]
        wav = Path(tmp) / "clip.wav"
        spans = join_wavs(parts, wav)
        encode_mp3(wav, mp3)
    vtt.write_text(webvtt(spans), encoding="utf-8")
    size = mp3.stat().st_size
    if size >= MAX_CLIP_BYTES:
        raise SystemExit(f"{mp3}: {size} bytes, over {MAX_CLIP_BYTES}")
    return [mp3, vtt]


def speak(line: Line, wav: Path) -> Path:
    command = ["espeak-ng", "-v", line.voice, "-s", "185", "-w", str(wav), line.text]
    subprocess.run(command, check=True, capture_output=True)
    return wav


def join_wavs(parts: list[Path], out: Path) -> list[tuple[float, float, Line]]:
    """Concatenate the spoken lines with short pauses; return each line's (start, end) s."""
    spans: list[tuple[float, float, Line]] = []
    with wave.open(str(parts[0]), "rb") as first:
        params = first.getparams()
    rate, width = params.framerate, params.sampwidth * params.nchannels
    with wave.open(str(out), "wb") as sink:
        sink.setparams(params)
        sink.writeframes(b"\0" * width * round(LEAD_S * rate))
        at = LEAD_S
        for part, line in zip(parts, SCRIPT, strict=True):
            with wave.open(str(part), "rb") as source:
                frames = source.readframes(source.getnframes())
            length = len(frames) / width / rate
            pause = GAP_S if line is not SCRIPT[-1] else LEAD_S
            sink.writeframes(frames + b"\0" * width * round(pause * rate))
            spans.append((at, at + length, line))
            at += length + pause
    return spans


def encode_mp3(wav: Path, mp3: Path) -> None:
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav),
        "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k",
        "-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1",
        "-fflags", "+bitexact", "-flags:a", "+bitexact", str(mp3),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def webvtt(spans: list[tuple[float, float, Line]]) -> str:
    cues = [
        f"{vtt_time(start)} --> {vtt_time(end)}\n<v {line.speaker}>{line.text}"
        for start, end, line in spans
    ]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm``, the form every WebVTT reader accepts."""
    millis = math.floor(seconds * 1000 + 0.5)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


if __name__ == "__main__":
    sys.exit(main())

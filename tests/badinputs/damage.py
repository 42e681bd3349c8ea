"""Ways to damage a fresh copy of the published sample project, one small step each.

Episode and show files are rewritten from the dicts below, one top-level field a line with
flow-style (JSON) values, so a case names only the field it breaks and its line is stable.
:class:`Raw` carries YAML text verbatim (timestamps, aliases, tags) where JSON cannot say it.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Setup = Callable[[Path], None]

WELCOME = "episodes/2026-11-20-welcome.md"
T5 = "episodes/2021-07-27-t5.md"
SHOW = "episodes/show.yaml"
CLIP = "episodes/audio/sample-clip.mp3"
VTT = "episodes/audio/sample-clip.vtt"
ART = "episodes/art/sample.jpg"
SHOW_ART = "episodes/art/show.jpg"
STATE = "feeds/interviews.published.json"
LOCAL_FEED = "feeds/interviews.xml"
STORED_FEED = "storage/interviews.xml"


@dataclass(frozen=True)
class Raw:
    """YAML text written as is, e.g. ``Raw("2026-02-30 09:00:00")`` for a YAML timestamp."""

    text: str


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # a field value that removes the field

WELCOME_META: dict[str, Any] = {
    "title": "Welcome to the Depth First Learning Interviews",
    "date": Raw("2026-11-20 09:00:00 -05:00"),
    "guid": "190bd4dd-f34d-4f16-a06a-213eaff1a95a",
    "episode_type": "trailer",
    "explicit": False,
    "audio": CLIP,
    "artwork": ART,
    "transcript": VTT,
    "chapters": [
        {"start": "0:00", "title": "Welcome"},
        {
            "start": "0:03",
            "title": "The guest says hello",
            "url": "https://www.depthfirstlearning.com/",
        },
    ],
    "links": [{"title": "Depth First Learning", "url": "https://www.depthfirstlearning.com/"}],
}
WELCOME_NOTES = (
    "A short sample of what is coming: the researchers behind the papers in the\n"
    "[Depth First Learning](https://www.depthfirstlearning.com/) curricula, in their own words.\n"
    "\n"
    "This trailer is made by `scripts/make_fixtures.py` so the demo and the tests run anywhere.\n"
)

SHOW_META: dict[str, Any] = {
    "title": "Depth First Learning Interviews",
    "description": "Conversations with the researchers behind the papers in the Depth First "
    "Learning curricula: how the work came to be, what it means, and what is still open.",
    "link": "https://www.depthfirstlearning.com/",
    "language": "en",
    "category": "Technology",
    "explicit": False,
    "author": "Depth First Learning",
    "owner": {"name": "Depth First Learning", "email": "team@depthfirstlearning.com"},
    "artwork": SHOW_ART,
    "copyright": "© 2021\u20132026 Depth First Learning. CC BY 4.0.",
    "license": "CC-BY-4.0",
    "funding": {
        "url": "https://www.depthfirstlearning.com/",
        "text": "Support Depth First Learning",
    },
    "hosts": [{"name": "Cinjon Resnick", "href": "https://www.depthfirstlearning.com/"}],
    "public_url": "https://audio.depthfirstlearning.com/",
    "feed_name": "interviews.xml",
    "type": "episodic",
    "locked": True,
    "audio": {"loudness": -16, "true_peak": -1, "bitrate": 96, "channels": 1, "sample_rate": 44100},
    "storage": {"location": "storage"},
}


def flow(value: Any) -> str:
    """One YAML flow value: JSON for data, verbatim for :class:`Raw`.

    >>> flow({"a": [1, Raw("2026-01-01"), None]})
    '{"a": [1, 2026-01-01, null]}'
    """
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render_fields(fields: dict[str, Any]) -> str:
    """``key: value`` lines in order; keys whose value is MISSING are left out."""
    return "".join(
        f"{key}: {flow(value)}\n" for key, value in fields.items() if value is not MISSING
    )


def changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dotted keys (``owner.email``, ``chapters.1.start``) set or removed."""
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is MISSING:
            del target[key]
        else:
            target[key] = value
    return data


def write(rel: str, data: bytes | str) -> Setup:
    """Replace a project file (made if absent) with these bytes or this text."""

    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            raise AssertionError(f"{rel} is a folder")
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def episode(changes: dict[str, Any] | None = None, notes: str = WELCOME_NOTES) -> Setup:
    """The sample episode with some front-matter fields changed."""
    front = render_fields(changed(WELCOME_META, changes or {}))
    return write(WELCOME, f"---\n{front}---\n{notes}")


def show(changes: dict[str, Any] | None = None) -> Setup:
    """show.yaml with some fields changed."""
    return write(SHOW, render_fields(changed(SHOW_META, changes or {})))


def remove(rel: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()

    return setup


def make_dir(rel: str) -> Setup:
    """A folder where a file should be (the file removed first)."""

    def setup(root: Path) -> None:
        path = root / rel
        if path.exists() or path.is_symlink():
            remove(rel)(root)
        path.mkdir(parents=True)
        (path / "inside.txt").write_text("a folder, not a file\n")

    return setup


def symlink(rel: str, target: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        if path.exists() or path.is_symlink():
            remove(rel)(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return setup


def edit_bytes(rel: str, change: Callable[[bytes], bytes]) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        path.write_bytes(change(path.read_bytes()))

    return setup


def edit_json(rel: str, change: Callable[[Any], Any]) -> Setup:
    """Load a JSON file, change it (in place or by returning a new value), write it back."""

    def setup(root: Path) -> None:
        path = root / rel
        data = json.loads(path.read_text(encoding="utf-8"))
        result = change(data)
        data = data if result is None else result
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    return setup


def chain(*steps: Callable[[Path], object]) -> Setup:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


def stored_audio_key(root: Path) -> str:
    """The storage key of the sample episode's published MP3, from the state file."""
    state = json.loads((root / STATE).read_text(encoding="utf-8"))
    (record,) = state["episodes"].values()
    return str(record["audio_key"])


def damage_stored_audio(change: Callable[[Path], object]) -> Setup:
    """Apply ``change`` to the stored MP3 of the sample episode (path found in the state)."""

    def setup(root: Path) -> None:
        change(root / "storage" / stored_audio_key(root))

    return setup


# -- small binary fixtures, made without ffmpeg ---------------------------------------------


def wav_bytes(seconds: float, *, level: float = 0.3, rate: int = 44100, dc: float = 0.0) -> bytes:
    """A 16-bit mono WAV: a 440 Hz tone at ``level`` (0: digital silence) plus ``dc``."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    signal = level * np.sin(2 * np.pi * 440 * t) + dc
    data = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(data.tobytes())
    return buffer.getvalue()


def streamed_wav(seconds: float) -> bytes:
    """A WAV as a recorder streaming to a pipe writes it: RIFF and data sizes 0xFFFFFFFF."""
    data = bytearray(wav_bytes(seconds))
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    return bytes(data)


def image_bytes(size: tuple[int, int], fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A plain image of this size, format and colour mode."""
    from PIL import Image

    buffer = io.BytesIO()
    colour: Any = 128 if mode in ("L", "P", "1") else tuple(100 for _ in mode)
    Image.new(mode, size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
        for n in range(1, 10)
    )
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title></channel></rss>\n'
)

YAML_ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

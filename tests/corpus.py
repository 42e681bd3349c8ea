"""A varied corpus of generated interview recordings, each with its ground truth.

The audio engine is judged on what real interviews throw at it: two voices at different
levels, a phone guest, hi-res and 8 kHz sources, a music intro ducked under speech, a clipped
source, a noisy reverberant room, very quiet and very hot files, mono and stereo, 16/24/32-bit
int and float, WAV, FLAC and MP3. Speech is espeak-ng (one synthesis per voice and sentence,
cached), made less dry by a small room reverb and a ±1.5 dB wobble per sentence.

A recording is rendered in two streaming passes so an hour stays memory-flat: pass 1 mixes
sentences (and music) in order into a raw float32 file; ffmpeg ``ebur128`` measures it; pass
2 applies the one gain that meets the target loudness, adds the room noise (so its level in
dBFS is exact), clips or soft-limits where the recording asks for it, and writes the container.
The truth (sentences and music regions in SOURCE time) goes into ``<name>.truth.json``.

    from corpus import make_corpus
    recordings = make_corpus(Path("corpus"), seconds=45)
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import uuid
import wave
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyloudnorm  # type: ignore[import-untyped]
from scipy import signal
from voice_metrics import ebur128

Floats = npt.NDArray[np.float64]
SampleFormat = Literal["s16", "s24", "s32", "f32"]
Container = Literal["wav", "flac", "mp3"]

VERSION = 2  # bump when the rendering changes, so cached corpora are remade
TTS_RATE = 22050
REF_LUFS = -23.0  # every clip is first calibrated to this loudness
SAFE_PEAK_DBFS = -0.3  # no recording but `clipped` may touch full scale
CHUNK_S = 5.0

SENTENCES = (
    "So let's start at the beginning. What problem were you trying to solve?",
    "We had models that worked on short sequences, but everything fell apart past a few "
    "thousand tokens.",
    "And the obvious fix, making the window bigger, costs quadratic memory.",
    "Right. So the question became whether you could approximate attention without ever "
    "building the matrix.",
    "That is where the kernel view comes in. You can write softmax attention as an expectation.",
    "Interesting. How did the experiments hold up against the exact baseline?",
    "Honestly, better than we expected on language modeling, and worse on retrieval.",
    "Let me push on that. Why retrieval, specifically?",
    "Because retrieval needs sharp attention, and random features blur the peaks.",
    "For listeners who want to go deeper, which paper should they read first?",
    "I would start with the original transformer paper, then the one on linear attention.",
    "When did you first realize the idea might actually work?",
    "It was late one night. The loss curve just kept going down, and I did not trust it.",
    "Did anyone on the team think it was a dead end?",
    "Oh, absolutely. My advisor bet me a coffee that it would diverge by morning.",
    "What would you tell a student who is starting out in this area today?",
    "Read the old papers. Most of the new ideas are hiding in the appendix of an old one.",
    "Is there a result from that time you would now say was wrong?",
    "We overstated the memory savings. In practice the constants matter a great deal.",
    "Thank you so much for coming on the show. This was a real pleasure.",
    "Thanks for having me. I enjoyed it, and I hope people try the code.",
)


@dataclass(frozen=True)
class Voice:
    """A speaker: espeak-ng voice, speed (wpm), pitch, level (dB vs the loudest) and pan."""

    speaker: str
    espeak: str
    wpm: int
    pitch: int
    level_db: float = 0.0
    pan: float = 0.0
    phone: bool = False


@dataclass(frozen=True)
class Spec:
    """How one recording is made."""

    name: str
    sample_rate: int
    channels: int
    fmt: SampleFormat
    container: Container
    voices: tuple[Voice, ...]
    target_lufs: float
    noise_dbfs: float = -60.0
    pink: bool = False
    rt60_s: float = 0.25
    wet_db: float = -16.0
    music: bool = False
    clip: bool = False
    hot: bool = False
    about: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence in source time; ``role`` is ``clean``, ``phone`` or ``over-music``."""

    start_s: float
    end_s: float
    speaker: str
    role: str
    voice: str
    text: str


@dataclass(frozen=True)
class Region:
    """A stretch of music in source time: ``music`` (alone) or ``music-under-speech``."""

    start_s: float
    end_s: float
    kind: str


@dataclass(frozen=True)
class Recording:
    """A generated recording and its ground truth."""

    name: str
    path: Path
    sample_rate: int
    channels: int
    fmt: str
    container: str
    seconds: float
    seed: int
    target_lufs: float
    about: str
    sentences: tuple[Sentence, ...]
    music: tuple[Region, ...] = ()
    recipe: str = ""  # digest of the spec and VERSION: a cached file is reused only if equal
    measured_lufs: float = math.nan
    peak_dbfs: float = math.nan
    clipped_samples: int = 0
    gain_db: float = field(default=0.0, compare=False)

    @property
    def truth_path(self) -> Path:
        return truth_path(self.path.parent, self.name)

    def speakers(self) -> list[str]:
        return sorted({sentence.speaker for sentence in self.sentences})

    def to_json(self) -> str:
        data = asdict(self)
        data["path"] = self.path.name
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, folder: Path, text: str) -> Recording:
        data = json.loads(text)
        data["path"] = folder / data["path"]
        data["sentences"] = tuple(Sentence(**item) for item in data["sentences"])
        data["music"] = tuple(Region(**item) for item in data["music"])
        return cls(**data)


HOST = Voice("host", "en-us", 165, 45, level_db=-8.0, pan=-0.3)
GUEST = Voice("guest", "en-gb", 175, 60, pan=0.3)
PHONE = Voice("guest", "en-gb-scotland", 170, 55, -4.0, phone=True)
SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec(
            "two-voices", 48000, 2, "s16", "wav", (HOST, GUEST), -22.0,
            about="host 8 dB under the guest, light room noise",
        ),
        Spec(
            "phone-guest", 16000, 1, "s16", "wav",
            (Voice("host", "en-us", 160, 40), PHONE),
            -24.0, noise_dbfs=-62.0, about="guest on the phone (300-3400 Hz), 4 dB under the host",
        ),
        Spec(
            "hires", 96000, 2, "s24", "wav",
            (Voice("host", "en-us+f3", 170, 70, -5.0, -0.4), Voice("guest", "en-gb-x-rp", 165, 45)),
            -24.0, noise_dbfs=-70.0, about="96 kHz 24-bit, voices 5 dB apart",
        ),
        Spec(
            "music-intro", 44100, 2, "s16", "flac",
            (Voice("host", "en-us", 165, 45, -2, -0.2), Voice("guest", "en-029", 170, 55, 0, 0.2)),
            -20.0, noise_dbfs=-70.0, music=True, about="music bed, ducked under the first words",
        ),
        Spec(
            "clipped", 44100, 2, "s16", "wav",
            (Voice("host", "en-us-nyc", 170, 45, -3.0, -0.1), GUEST),
            -7.0, clip=True, about="driven into hard clipping at full scale",
        ),
        Spec(
            "noisy-room", 48000, 1, "f32", "wav",
            (Voice("host", "en-gb-x-gbclan", 160, 40, -3.0), Voice("guest", "en-us+f3", 165, 65)),
            -23.0, noise_dbfs=-45.0, pink=True, rt60_s=0.7, wet_db=-7.0,
            about="pink room noise at -45 dBFS, a reverberant room",
        ),
        Spec(
            "very-quiet", 48000, 2, "s24", "wav", (HOST, GUEST), -35.0, noise_dbfs=-80.0,
            about="integrated about -35 LUFS",
        ),
        Spec(
            "hot", 44100, 2, "s32", "wav",
            (Voice("host", "en-gb", 175, 55, -2.0, -0.2), Voice("guest", "en-us", 160, 40, 0, 0.2)),
            -10.0, noise_dbfs=-65.0, hot=True,
            about="integrated about -10 LUFS, compressed, peaks just under full scale",
        ),
        Spec(
            "mp3-source", 8000, 1, "s16", "mp3",
            (Voice("host", "en-us", 165, 45, -6.0), Voice("guest", "en-gb-scotland", 150, 35)),
            -23.0, noise_dbfs=-65.0, about="8 kHz mono MP3, voices 6 dB apart",
        ),
    )
}  # fmt: skip
NAMES = tuple(SPECS)


def truth_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.truth.json"


def make_corpus(
    folder: Path, seconds: float, seed: int = 1, names: tuple[str, ...] = NAMES
) -> list[Recording]:
    """Every recording of :data:`SPECS` (or ``names``) in ``folder``; existing ones are reused."""
    return [make_recording(name, folder, seconds, seed) for name in names]


def make_recording(name: str, folder: Path, seconds: float, seed: int = 1) -> Recording:
    """One recording and its ``<name>.truth.json``; deterministic per ``seed``."""
    folder.mkdir(parents=True, exist_ok=True)
    cached = _cached(name, folder, seconds, seed)
    if cached is not None:
        return cached
    spec = SPECS[name]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    raw = folder / f".{name}.f32"
    try:
        sentences, regions, peak = _render_raw(spec, raw, seconds, rng, folder / ".tts")
        measured = ebur128(_raw_input(spec, raw), true_peak=False).integrated_lufs
        path = folder / f"{name}.{spec.container}"
        gain, final, stats = _write_at_target(spec, raw, path, measured, peak, seed)
    finally:
        raw.unlink(missing_ok=True)
    recording = Recording(
        name=name, path=path, sample_rate=spec.sample_rate, channels=spec.channels,
        fmt=spec.fmt, container=spec.container, seconds=seconds, seed=seed,
        target_lufs=spec.target_lufs, about=spec.about, sentences=tuple(sentences),
        music=tuple(regions), measured_lufs=round(final, 2),
        peak_dbfs=round(stats[0], 2), clipped_samples=stats[1], gain_db=round(gain, 2),
        recipe=_recipe(spec),
    )  # fmt: skip
    recording.truth_path.write_text(recording.to_json(), encoding="utf-8")
    return recording


def _write_at_target(
    spec: Spec, raw: Path, path: Path, measured: float, peak: float, seed: int
) -> tuple[float, float, tuple[float, int]]:
    """Pass 2 at the gain that meets the target, redone (at most twice) when the soft
    limiter of a hot file lowered the loudness; a gain kept under full scale stays put."""
    gain = spec.target_lufs - measured
    capped = False
    if not (spec.clip or spec.hot):
        headroom = SAFE_PEAK_DBFS - 20 * math.log10(max(peak, 1e-9))
        capped, gain = gain > headroom, min(gain, headroom)
    for _ in range(3):
        noise_rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 1])
        stats = _write(spec, raw, path, gain, noise_rng)
        final = ebur128(["-i", str(path)], true_peak=False).integrated_lufs
        if spec.clip or capped or abs(final - spec.target_lufs) <= 0.2:
            break
        gain += spec.target_lufs - final
    return gain, final, stats


def _recipe(spec: Spec) -> str:
    return hashlib.sha256(f"{VERSION}|{spec!r}".encode()).hexdigest()[:16]


def _cached(name: str, folder: Path, seconds: float, seed: int) -> Recording | None:
    """The recording already in ``folder`` if it was made with the same inputs."""
    path = truth_path(folder, name)
    if not path.exists():
        return None
    try:
        found = Recording.from_json(folder, path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError):
        return None
    same = (found.seconds, found.seed, found.recipe) == (seconds, seed, _recipe(SPECS[name]))
    return found if same and found.path.exists() else None


# --- speech ------------------------------------------------------------------------------


def _tts(voice: Voice, index: int, cache: Path) -> Floats:
    """espeak-ng's sentence ``index`` by ``voice`` (22.05 kHz mono), silence trimmed."""
    cache.mkdir(parents=True, exist_ok=True)
    wav = cache / f"{voice.espeak}-{voice.wpm}-{voice.pitch}-{index}.wav"
    if not wav.exists():
        partial = wav.with_name(f".{wav.stem}.{uuid.uuid4().hex}.wav")  # threads share it
        cmd = ["espeak-ng", "-v", voice.espeak, "-s", str(voice.wpm), "-p", str(voice.pitch)]
        subprocess.run(
            [*cmd, "-w", str(partial), SENTENCES[index]], check=True, capture_output=True
        )
        partial.rename(wav)
    with wave.open(str(wav)) as handle:
        assert handle.getframerate() == TTS_RATE and handle.getnchannels() == 1
        data = np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768.0
    loud = np.flatnonzero(np.abs(data) > np.abs(data).max() * 10 ** (-40 / 20))
    return data[loud[0] : loud[-1] + 1]


def _room(rng: np.random.Generator, rt60_s: float, wet_db: float) -> Floats:
    """A small room: the direct sound plus exponentially decaying noise (the late tail)."""
    n = int(rt60_s * TTS_RATE)
    t = np.arange(n) / TTS_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.004 * TTS_RATE)] = 0.0  # a few ms before the first reflections
    tail *= 10 ** (wet_db / 20) / math.sqrt(float(np.sum(tail**2)))
    tail[0] = 1.0
    return tail


class _Clips:
    """Sentence clips at the output rate: phone filter, room, loudness calibration, cached."""

    def __init__(self, spec: Spec, rng: np.random.Generator, cache: Path) -> None:
        self.spec = spec
        self.cache = cache
        self.room = _room(rng, spec.rt60_s, spec.wet_db)
        self.meter = pyloudnorm.Meter(TTS_RATE)
        self.phone = signal.butter(4, [300, 3400], "bandpass", fs=TTS_RATE, output="sos")
        ratio = math.gcd(spec.sample_rate, TTS_RATE)
        self.up, self.down = spec.sample_rate // ratio, TTS_RATE // ratio
        self._made: dict[tuple[int, int], tuple[Floats, int]] = {}

    def get(self, voice_index: int, sentence: int) -> tuple[Floats, int]:
        """(clip with its reverb tail, dry length in samples), at ``REF_LUFS``."""
        key = (voice_index, sentence)
        if key not in self._made:
            voice = self.spec.voices[voice_index]
            dry = _tts(voice, sentence, self.cache)
            if voice.phone:
                dry = signal.sosfilt(self.phone, dry)
            wet = signal.fftconvolve(dry, self.room)
            wet *= 10 ** ((REF_LUFS - self.meter.integrated_loudness(wet)) / 20)
            out = signal.resample_poly(wet, self.up, self.down).astype(np.float32)
            self._made[key] = (out, round(len(dry) * self.up / self.down))
        return self._made[key]


@dataclass
class _Placement:
    start: int
    voice: int
    sentence: int
    gain_db: float


def _script(
    spec: Spec, total: int, start: int, clips: _Clips, rng: np.random.Generator
) -> Iterator[_Placement]:
    """Turns alternating between the voices: 1-4 sentences each, 0.3-1.5 s between turns."""
    rate = spec.sample_rate
    at, speaker, turn = start, 0, 0
    while True:
        count = int(rng.integers(1, 5))
        for _ in range(min(count, 2) if turn == 0 else count):  # both speak in a short file
            sentence = int(rng.integers(len(SENTENCES)))
            _, dry = clips.get(speaker, sentence)
            if at + dry > total:
                return
            yield _Placement(at, speaker, sentence, float(rng.uniform(-1.5, 1.5)))
            at += dry + int(rng.uniform(0.12, 0.35) * rate)
        at += int(rng.uniform(0.3, 1.5) * rate)
        speaker, turn = (speaker + 1) % len(spec.voices), turn + 1


def _pan(mono: Floats, pan: float, channels: int) -> Floats:
    """Constant-power pan into ``channels`` columns (unity gain in the middle)."""
    if channels == 1:
        return mono[:, None]
    angle = (pan + 1) * math.pi / 4
    return np.stack([mono * math.cos(angle), mono * math.sin(angle)], axis=1) * math.sqrt(2)


def _compress(x: Floats, rate: int) -> Floats:
    """A fast broadcast-style compressor (10 ms RMS, 4:1 above the sentence's own level)."""
    power = _smooth(x**2, rate, 0.01)
    level = 10 * np.log10(np.maximum(power, 1e-12))
    threshold = 10 * math.log10(float(np.mean(x**2)) + 1e-12)
    over = np.maximum(level - threshold, 0.0)
    gain_db = _smooth(-over * 0.75, rate, 0.005)
    return x * 10 ** (gain_db / 20)


def _smooth(x: Floats, rate: int, seconds: float) -> Floats:
    width = max(1, int(seconds * rate))
    return np.convolve(x, np.ones(width) / width, mode="same")


# --- music -------------------------------------------------------------------------------

BAR_S = 2.0  # 120 bpm, four beats
CHORDS = ((60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60))  # C G Am F


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _music_bar(index: int, rate: int, channels: int) -> Floats:
    """Bar ``index`` of a pop loop: plucked chords, bass, kick and hi-hat (float, ~-23 LUFS)."""
    n = int(BAR_S * rate)
    t = np.arange(n) / rate
    beat = BAR_S / 4
    rng = np.random.default_rng(index)
    left, right = np.zeros(n), np.zeros(n)
    chord = CHORDS[index % len(CHORDS)]
    for hit in (0.0, 1.5, 2.0, 3.0):  # a syncopated strum
        since = t - hit * beat
        env = np.where(since >= 0, np.exp(-np.maximum(since, 0) / 0.35), 0.0)
        for note in chord:
            for k in range(1, 6):
                phase = 2 * math.pi * _hz(note) * k * t
                left += env * np.sin(phase * 1.001) / k * 0.05
                right += env * np.sin(phase * 0.999) / k * 0.05
    bass = np.zeros(n)
    for hit in range(4):
        since = t - hit * beat
        env = np.where(since >= 0, np.exp(-np.maximum(since, 0) / 0.25), 0.0)
        bass += env * np.sin(2 * math.pi * _hz(chord[0] - 24) * t) * 0.25
        if hit in (0, 2):  # kick: a falling sine
            sweep = 2 * math.pi * np.cumsum(45 + 65 * np.exp(-np.maximum(since, 0) / 0.03)) / rate
            bass += (
                np.where(since >= 0, np.exp(-np.maximum(since, 0) / 0.12), 0.0)
                * np.sin(sweep)
                * 0.5
            )
    hat = np.zeros(n)
    for hit in range(8):
        since = t - hit * beat / 2
        hat += np.where(since >= 0, np.exp(-np.maximum(since, 0) / 0.02), 0.0)
    hat *= np.diff(rng.standard_normal(n + 1)) * 0.03
    mix = np.stack([left + bass + hat, right + bass + hat], axis=1)
    return mix.mean(axis=1, keepdims=True) if channels == 1 else mix


def _music_gain(t: Floats, speech_start: float, duck_s: float) -> Floats:
    """Full until the speech starts, ducked 18 dB for ``duck_s``, then a 2 s fade out."""
    ducked = 10 ** (-18 / 20)
    into = np.clip((t - speech_start) / 0.5, 0, 1)
    gain = 1 - (1 - ducked) * into
    fade = np.clip(1 - (t - speech_start - duck_s) / 2.0, 0, 1)
    return gain * fade


# --- rendering ---------------------------------------------------------------------------


class _RawMixer:
    """Adds clips at absolute sample positions and streams finished audio to a raw file."""

    def __init__(self, path: Path, channels: int) -> None:
        self.handle = path.open("wb")
        self.channels = channels
        self.flushed = 0
        self.pending = np.zeros((0, channels))
        self.peak = 0.0

    def add(self, start: int, data: Floats) -> None:
        end = start + len(data)
        if end - self.flushed > len(self.pending):
            grow = np.zeros((end - self.flushed - len(self.pending), self.channels))
            self.pending = np.concatenate([self.pending, grow])
        self.pending[start - self.flushed : end - self.flushed] += data

    def flush(self, upto: int) -> None:
        """Write everything before ``upto`` (nothing will be added there any more)."""
        count = upto - self.flushed
        if count <= 0:
            return
        if count > len(self.pending):
            self.add(upto - 1, np.zeros((1, self.channels)))
        chunk, self.pending = self.pending[:count], self.pending[count:]
        self.peak = max(self.peak, float(np.max(np.abs(chunk), initial=0.0)))
        self.handle.write(chunk.astype("<f4").tobytes())
        self.flushed = upto

    def close(self, total: int) -> None:
        self.flush(total)
        self.handle.close()


def _render_raw(
    spec: Spec, raw: Path, seconds: float, rng: np.random.Generator, cache: Path
) -> tuple[list[Sentence], list[Region], float]:
    """Pass 1: sentences (and music) into ``raw`` as float32; returns truth and sample peak."""
    rate = spec.sample_rate
    total = int(seconds * rate)
    clips = _Clips(spec, rng, cache)
    mixer = _RawMixer(raw, spec.channels)
    offset_db = spec.target_lufs - REF_LUFS  # near the target already; pass 2 trims
    regions: list[Region] = []
    speech_start = 0.5
    music_end = 0.0
    if spec.music:
        speech_start, duck_s = round(0.15 * seconds, 2), 4.0
        music_end = speech_start + duck_s + 2.0
        regions = [
            Region(0.0, speech_start, "music"),
            Region(speech_start, music_end, "music-under-speech"),
        ]
        _add_music(spec, mixer, speech_start, duck_s, min(music_end, seconds), offset_db - 3)
    sentences = []
    for place in _script(spec, total, int(speech_start * rate), clips, rng):
        mixer.flush(place.start)
        voice = spec.voices[place.voice]
        clip, dry = clips.get(place.voice, place.sentence)
        mono = clip * 10 ** ((offset_db + voice.level_db + place.gain_db) / 20)
        if spec.hot:
            mono = _compress(mono, rate)
        mixer.add(place.start, _pan(mono, voice.pan, spec.channels))
        start_s, end_s = place.start / rate, (place.start + dry) / rate
        role = "over-music" if start_s < music_end else "phone" if voice.phone else "clean"
        sentences.append(
            Sentence(
                round(start_s, 4), round(end_s, 4), voice.speaker, role, voice.espeak,
                SENTENCES[place.sentence],
            )
        )  # fmt: skip
    mixer.close(total)
    return sentences, regions, mixer.peak


def _add_music(
    spec: Spec, mixer: _RawMixer, speech_start: float, duck_s: float, end_s: float, level_db: float
) -> None:
    """The music bed, bar by bar, at ``level_db`` relative to the calibrated speech."""
    rate = spec.sample_rate
    meter = pyloudnorm.Meter(rate)
    scale = 10 ** ((REF_LUFS + level_db - meter.integrated_loudness(_music_bar(0, rate, 2))) / 20)
    bar = int(BAR_S * rate)
    for index in range(math.ceil(end_s / BAR_S)):
        start = index * bar
        t = (start + np.arange(bar)) / rate
        gain = _music_gain(t, speech_start, duck_s) * scale
        mixer.add(start, _music_bar(index, rate, spec.channels) * gain[:, None])


def _raw_input(spec: Spec, raw: Path) -> list[str]:
    return ["-f", "f32le", "-ar", str(spec.sample_rate), "-ac", str(spec.channels), "-i", str(raw)]


def _soft_limit(
    x: Floats, knee: float = 10 ** (-6 / 20), ceiling: float = 10 ** (-0.5 / 20)
) -> Floats:
    """A memoryless soft clipper: linear below ``knee``, never above ``ceiling``."""
    over = np.abs(x) > knee
    span = ceiling - knee
    shaped = np.sign(x) * (knee + span * np.tanh((np.abs(x) - knee) / span))
    return np.where(over, shaped, x)


class _Noise:
    """Room noise at a fixed RMS in dBFS, white or pink (Kellet's filter), chunk-continuous."""

    B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
    A = (1.0, -2.494956002, 2.017265875, -0.522189400)

    def __init__(self, spec: Spec, rng: np.random.Generator) -> None:
        self.rng = rng
        self.channels = spec.channels
        self.pink = spec.pink
        impulse = np.zeros(1 << 16)
        impulse[0] = 1.0
        energy = float(np.sum(signal.lfilter(self.B, self.A, impulse) ** 2)) if spec.pink else 1.0
        self.scale = 10 ** (spec.noise_dbfs / 20) / math.sqrt(energy)
        self.state = np.zeros((len(self.A) - 1, spec.channels))

    def next(self, frames: int) -> Floats:
        white = self.rng.standard_normal((frames, self.channels))
        if not self.pink:
            return white * self.scale
        pink, self.state = signal.lfilter(self.B, self.A, white, axis=0, zi=self.state)
        return np.asarray(pink) * self.scale


def _write(
    spec: Spec, raw: Path, path: Path, gain_db: float, rng: np.random.Generator
) -> tuple[float, int]:
    """Pass 2: gain, noise, clip/limit, then the container; returns (peak dBFS, clipped)."""
    gain = 10 ** (gain_db / 20)
    noise = _Noise(spec, rng)
    frames = int(CHUNK_S * spec.sample_rate)
    peak, clipped = 0.0, 0
    partial = path.with_name(f".{path.name}.partial")
    with raw.open("rb") as source, _Sink(spec, partial) as sink:
        while chunk := source.read(frames * spec.channels * 4):
            x = np.frombuffer(chunk, "<f4").reshape(-1, spec.channels).astype(np.float64) * gain
            x += noise.next(len(x))
            if spec.hot:
                x = _soft_limit(x)
            x = np.clip(x, -1.0, 1.0)
            clipped += int(np.count_nonzero(np.abs(x) >= 1.0 - 1e-6))
            peak = max(peak, float(np.max(np.abs(x))))
            sink.write(x)
    partial.replace(path)
    return 20 * math.log10(max(peak, 1e-12)), clipped


class _Sink:
    """Writes float chunks as int WAV (``wave``) or through ffmpeg (float WAV, FLAC, MP3)."""

    def __init__(self, spec: Spec, path: Path) -> None:
        self.spec = spec
        self.wav: wave.Wave_write | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        if spec.container == "wav" and spec.fmt != "f32":
            self.wav = wave.open(str(path), "wb")  # noqa: SIM115 (closed in __exit__)
            self.wav.setnchannels(spec.channels)
            self.wav.setsampwidth({"s16": 2, "s24": 3, "s32": 4}[spec.fmt])
            self.wav.setframerate(spec.sample_rate)
        else:
            codec = {
                "wav": ["-c:a", "pcm_f32le", "-f", "wav"],
                "flac": ["-c:a", "flac", "-sample_fmt", "s16", "-f", "flac"],
                "mp3": ["-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3"],
            }[spec.container]
            ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
            cmd = [
                ffmpeg,
                "-v",
                "error",
                "-y",
                *_raw_input(spec, Path("pipe:0")),
                *codec,
                str(path),
            ]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)

    def write(self, x: Floats) -> None:
        if self.wav is not None:
            self.wav.writeframes(_pcm(x, self.spec.fmt))
        elif self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.write(x.astype("<f4").tobytes())

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.wav is not None:
            self.wav.close()
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            if self.proc.wait() != 0:
                raise RuntimeError(f"ffmpeg could not write {self.spec.name}")


def _pcm(x: Floats, fmt: SampleFormat) -> bytes:
    """Little-endian interleaved integer PCM, rounded and saturated."""
    bits = {"s16": 16, "s24": 24, "s32": 32}[fmt]
    full = 2 ** (bits - 1)
    ints = np.clip(np.round(x * full), -full, full - 1).astype("<i8")
    if bits == 16:
        return bytes(ints.astype("<i2").tobytes())
    if bits == 32:
        return bytes(ints.astype("<i4").tobytes())
    wide = ints.astype("<i4").reshape(-1, 1).view(np.uint8)  # 4 bytes per sample
    return bytes(wide[:, :3].tobytes())

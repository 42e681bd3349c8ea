"""The audio engine: probe → measure (the one decode) → level, gain, limit → encode.

One job per module, in the order of the flow: :mod:`.probe` (stream facts, no decode),
:mod:`.source` and :mod:`.wav` (the recording as conditioned frames, spooled once),
:mod:`.meter` over :mod:`.bs1770` and :mod:`.truepeak` (the 10 ms profile), :mod:`.measure`
(the measure pass), :mod:`.leveler` (phrase gains), :mod:`.limiter` (the safety net),
:mod:`.encode` (the streamed LAME encode and its MP3 check), :mod:`.produce` (plans the gains
and runs the encode; :mod:`.parked` and :mod:`.heap` keep its memory flat with length),
:mod:`.assemble` (intros and outros with pydub). Every tuning constant lives in
:mod:`.tuning`.
"""

from __future__ import annotations

from pathlib import Path

from dfl_audio import ffmpeg_judge
from dfl_audio.audio.measure import Measurement, measure
from dfl_audio.audio.probe import AudioProbe, probe
from dfl_audio.audio.produce import EncodeResult, normalize_to_mp3

__all__ = [
    "AudioProbe",
    "EncodeResult",
    "Measurement",
    "measure",
    "measure_file_with_ffmpeg",
    "normalize_to_mp3",
    "probe",
]


def measure_file_with_ffmpeg(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by ffmpeg's ``ebur128=peak=true``: the independent
    check of a finished MP3 used by tests and benchmarks."""
    return ffmpeg_judge.ebur128(Path(path))

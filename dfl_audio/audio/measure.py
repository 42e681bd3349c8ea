"""The measure pass: the one decode of the source, metered as the encoder will get it.

The source is decoded once (see :mod:`dfl_audio.audio.source`), conditioned to the output
rate and channels, and metered: the 10 ms :class:`~dfl_audio.audio.meter.Profile` is all the
leveler and the gain solver need, so the loudness of the final MP3 is known before the encode
starts. ffmpeg is the judge of corruption: decode errors, nothing decoded, or far less than
the container declares all stop here, before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from dfl_audio import ffmpeg
from dfl_audio.audio import tuning
from dfl_audio.audio.bs1770 import ABSOLUTE_GATE_LUFS, lin_to_db
from dfl_audio.audio.meter import ClipCounter, Meter, Profile
from dfl_audio.audio.parked import ParkedArray
from dfl_audio.audio.probe import AudioProbe
from dfl_audio.audio.source import Conditioner, Spool, direct_wav, open_source
from dfl_audio.errors import AudioError
from dfl_audio.models.show import AudioSettings

log = logging.getLogger(__name__)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Measurement:
    """What the one decode of the source found, at the output rate and channel count.

    The 10 ms profile is parked on disk (:meth:`profile` reads it back when the gains are
    planned), so nothing that grows with the episode stays in memory through the encode.
    ``spool`` holds the conditioned frames for the encode pass (None when the source is a WAV
    at the output rate, read again instead); close both with :meth:`close`.
    """

    sample_rate: int
    channels: int
    frames: int
    true_peak: float  # linear, 4x oversampled
    sample_peak: float
    integrated_lufs: float
    leading_silence: float
    trailing_silence: float
    clipped_samples: int
    warnings: tuple[str, ...]
    energy: ParkedArray = field(compare=False, repr=False)
    peak: ParkedArray = field(compare=False, repr=False)
    spool: Spool | None = field(default=None, compare=False, repr=False)
    folder: Path | None = field(default=None, compare=False, repr=False)  # for parked arrays

    @classmethod
    def of(
        cls,
        profile: Profile,
        clipped: int,
        warnings: tuple[str, ...],
        spool: Spool | None,
        folder: Path | None,
    ) -> Measurement:
        """Summarise ``profile`` and park its arrays in ``folder``."""
        lead, trail = profile.edge_silence()
        energy = ParkedArray(profile.energy, folder)
        try:
            peak = ParkedArray(profile.peak, folder)
        except BaseException:
            energy.close()
            raise
        return cls(
            sample_rate=profile.sample_rate,
            channels=profile.channels,
            frames=profile.frames,
            true_peak=profile.true_peak,
            sample_peak=profile.sample_peak,
            integrated_lufs=profile.integrated_lufs(),
            leading_silence=lead,
            trailing_silence=trail,
            clipped_samples=clipped,
            warnings=warnings,
            energy=energy,
            peak=peak,
            spool=spool,
            folder=folder,
        )

    def profile(self) -> Profile:
        """The 10 ms profile, read back from disk (fresh arrays, the caller's to keep)."""
        return Profile(
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=self.frames,
            energy=self.energy.read(),
            peak=self.peak.read(),
            true_peak=self.true_peak,
            sample_peak=self.sample_peak,
        )

    @property
    def true_peak_dbtp(self) -> float:
        return lin_to_db(self.true_peak)

    @property
    def sample_peak_dbfs(self) -> float:
        return lin_to_db(self.sample_peak)

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def close(self) -> None:
        self.energy.close()
        self.peak.close()
        if self.spool is not None:
            self.spool.close()


def one_blas_thread() -> threadpool_limits:
    """Our small matmuls (true-peak interpolation, the filters' block products) run fastest on
    one BLAS thread; the other core belongs to the ffmpeg child (decoder, then LAME)."""
    return threadpool_limits(limits=1, user_api="blas")


def measure(
    path: Path,
    probe: AudioProbe,
    settings: AudioSettings,
    progress: Progress | None = None,
    workdir: Path | None = None,
) -> Measurement:
    """Decode the whole source once, condition it to the output rate and channels of
    ``settings`` and meter it; raise AudioError if it is corrupt, truncated or silent.
    The decoded frames wait in a spool in ``workdir`` (default: the temp folder)."""
    sample_rate, channels = settings.sample_rate, settings.channels
    spool = None if direct_wav(path, probe, sample_rate) else Spool(channels, workdir)
    meter = Meter(sample_rate, channels)
    clips = ClipCounter(2)  # counts what the decoder gives: a stereo mean in mono is flat too
    conditioner = Conditioner(sample_rate, channels)
    try:
        with one_blas_thread(), open_source(path, probe, sample_rate, channels) as source:
            for chunk in source.chunks(tuning.CHUNK_FRAMES):
                clips.feed(chunk)
                conditioned = conditioner.process(chunk)
                meter.feed(conditioned)
                if spool is not None:
                    spool.write(conditioned)
                if progress:
                    progress(meter.frames / sample_rate)
            report = source.report
        check_decode(path, probe, report, meter.frames / sample_rate)
        profile = meter.profile()
        if profile.duration < tuning.MIN_SECONDS:
            raise AudioError(
                f"too short: {profile.duration:.2f} s of audio; loudness needs at least "
                f"{tuning.MIN_SECONDS:g} s",
                path,
            )
        if profile.integrated_lufs() < ABSOLUTE_GATE_LUFS:
            raise AudioError("silent: integrated loudness is below -70 LUFS", path)
        warnings = _warnings(
            profile, clips.count, min(max(probe.channels, 1), 2) * probe.sample_rate
        )
        return Measurement.of(profile, clips.count, warnings, spool, workdir)
    except BaseException:
        if spool is not None:
            spool.close()
        raise


def check_decode(
    path: Path, probe: AudioProbe, report: ffmpeg.DecodeReport | None, decoded: float
) -> None:
    """ffmpeg is the judge: decode errors, nothing decoded, or far less than declared."""
    if report is not None and report.failed:
        raise AudioError(f"corrupt or truncated audio: {report.reason(path)}", path)
    if decoded <= 0:
        raise AudioError("no decodable audio", path)
    if decoded < probe.duration * tuning.TRUNCATION_TOLERANCE - 0.1:
        raise AudioError(
            f"truncated: decodes to {decoded:.2f} s but the file declares {probe.duration:.2f} s",
            path,
        )


def _warnings(profile: Profile, clipped: int, samples_per_second: int) -> tuple[str, ...]:
    """Problems worth a look that do not stop publishing: clipping, long edge silence."""
    found = []
    samples = profile.duration * samples_per_second
    if clipped > max(16, tuning.CLIPPING_WARN_RATIO * samples):
        found.append(f"heavy clipping: {clipped} samples at full scale")
    lead, trail = profile.edge_silence()
    if lead >= tuning.SILENCE_WARN_SECONDS:
        found.append(f"long leading silence: {lead:.1f} s")
    if trail >= tuning.SILENCE_WARN_SECONDS:
        found.append(f"long trailing silence: {trail:.1f} s")
    return tuple(found)

"""SIGTERM and SIGHUP stop a run the way Ctrl-C does, so every cleanup path runs.

CI timeouts and systemd stop a job with SIGTERM, a closed terminal sends SIGHUP; Python's
default for both is to die on the spot, leaving temp files and encoders behind. Here they
raise :class:`KeyboardInterrupt` in the main thread, like SIGINT, so ``finally`` blocks,
context managers and ``except BaseException`` cleanups run. Repeats of a signal while the
run is already stopping are ignored, so a second SIGTERM cannot cut a cleanup short.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

STOP_SIGNALS = tuple(  # SIGHUP does not exist on Windows
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass
class Received:
    """The first stop signal that arrived, if any."""

    signum: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[Received]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt (once)."""
    received = Received()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if received.signum is not None:
            return  # already stopping: let the cleanup finish
        received.signum = signum
        raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set handlers; keep Python's defaults
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue  # started under nohup (or told to ignore it): keep it ignored
        previous[signum] = signal.signal(signum, interrupt)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""One bad input or fault: how to damage the project, what to run, what counts as right."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from badinputs.damage import Setup

Category = Literal["files", "audio", "state", "processes", "storage", "serve", "cli"]
# inprocess: click's CliRunner; subprocess: python -m dfl_audio with a timeout (hangs, serve);
# signal: a subprocess signalled mid-run; http: a request to `serve` on 127.0.0.1.
Mode = Literal["inprocess", "subprocess", "signal", "http"]
# refuse: non-zero exit, the golden message, nothing changed. accept: the input is fine (or a
# fault the run must repair): exit 0 and ``check`` says the result is right.
Expect = Literal["refuse", "accept"]


@dataclass(frozen=True)
class HttpRequest:
    """A raw request to the preview server (the path is sent byte for byte)."""

    path: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SignalPlan:
    """Send ``signum`` once a file matching ``when`` (a glob under the project) exists;
    ``rerun``: then run the same command again, as the next CI job would."""

    signum: signal.Signals
    when: str = "tmp/dfl-audio-*"
    rerun: bool = False


@dataclass(frozen=True)
class Case:
    """A stable readable ``id`` (``family.field.problem``), its setup and its command.

    ``argv`` follows ``dfl-audio --root <project>``; ``{root}``, ``{endpoint}``, ``{bucket}`` and
    ``{port}`` are filled in by the runner (the project copy, the S3 endpoint, this case's
    bucket, an unused port).
    """

    id: str
    category: Category
    argv: tuple[str, ...]
    setup: Setup | None = None
    mode: Mode = "inprocess"
    expect: Expect = "refuse"
    env: Mapping[str, str] = field(default_factory=dict)
    needs: frozenset[str] = frozenset()  # "moto" (in-process S3 server), "rgw" (integration)
    check: Callable[[Any], str] | None = None  # accept cases: a verdict, given the Context
    s3_damage: Callable[[Any, str], None] | None = None  # (admin client, bucket), after publish
    request: HttpRequest | None = None
    signal: SignalPlan | None = None
    timeout: float = 60.0
    memory_limit: int | None = None  # bytes of address space for subprocess cases

    @property
    def command(self) -> str:
        """The command family (publish, feed, validate, ...), for the tally."""
        if self.mode == "http":
            return "serve-request"
        words = [arg for arg in self.argv if not arg.startswith("-")]
        return words[0] if words else "(none)"

"""How the core reports long work without printing: the CLI plugs a bar in, tests plug nothing.

A stage reports absolute progress (seconds of audio, bytes uploaded); the UI decides how
(or whether) to draw it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Update = Callable[[float], None]


class Reporter(Protocol):
    def stage(self, name: str, total: float, unit: str) -> AbstractContextManager[Update]:
        """Open a stage (``measure``, ``encode``, ``store``); yields an absolute-progress update."""
        ...


class Silent:
    """The reporter for tests, pipes and ``--quiet``: long work reports nothing."""

    @contextmanager
    def stage(self, name: str, total: float, unit: str) -> Iterator[Update]:
        yield lambda done: None


def accumulate(update: Update) -> Callable[[int], None]:
    """Turn increments (boto3 transfer callbacks) into the absolute progress a stage wants.

    >>> seen = []
    >>> add = accumulate(seen.append)
    >>> add(3); add(4)
    >>> seen
    [3.0, 7.0]
    """
    total = 0.0

    def add(increment: int) -> None:
        nonlocal total
        total += increment
        update(total)

    return add


class TqdmReporter:
    """The reporter for a person at a terminal: one tqdm bar per stage, with time remaining."""

    @contextmanager
    def stage(self, name: str, total: float, unit: str) -> Iterator[Update]:
        from tqdm import tqdm

        scale = unit == "B"
        with tqdm(
            total=total,
            desc=name,
            unit=unit,
            unit_scale=scale,
            leave=False,
            bar_format=None if scale else "{l_bar}{bar}| {n:.0f}/{total:.0f}s [{remaining}]",
            file=sys.stderr,
        ) as bar:

            def update(done: float) -> None:
                bar.n = min(done, total)
                bar.refresh()

            yield update

"""The one progress protocol of library code: a callable taking (stage, done, total). Library
functions accept `progress: Progress | None` and call it; only the edges (the CLI's rich bars,
the API's job records) render it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Reports that `done` of `total` units of `stage` are finished (`total` None when unknown).
    Stages are short lower-case phrases ("read accounts", "detector pathways"); a stage may be
    reported many times with growing `done`. Implementations must be cheap and never raise."""

    def __call__(self, stage: str, done: float, total: float | None = None) -> None: ...


def no_progress(stage: str, done: float, total: float | None = None) -> None:
    """A Progress that ignores every report (the default of library functions)."""


def fraction(done: float, total: float | None) -> float | None:
    """done / total clamped to [0, 1], or None when the total is unknown or zero."""
    if not total:
        return None
    return max(0.0, min(1.0, done / total))


class Stage:
    """One stage counted in units (rows, items) and reported to a Progress: `advance` reports the
    running count, `finish` reports the stage complete (an unknown total becomes the count)."""

    def __init__(self, progress: Progress, name: str, total: float | None = None) -> None:
        self.progress, self.name, self.total, self.done = progress, name, total, 0.0
        progress(name, 0.0, total)

    def advance(self, n: float) -> None:
        self.done += n
        self.progress(self.name, self.done, self.total)

    def finish(self, total: float | None = None) -> None:
        self.total = self.done = self.done if total is None else total
        self.progress(self.name, self.done, self.total)

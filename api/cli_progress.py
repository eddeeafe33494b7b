"""The command line's rendering of the library's progress protocol (graph.progress.Progress): a
rich progress display on stderr, one bar per stage or one bar for the whole job."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class RichProgress:
    """A Progress (call it with stage, done, total) drawn with rich while the context is open.

    `one_bar=False` (ingest): each stage gets its own line, counted in units ("read accounts
    1,200,000/1,500,000"), stopped when done reaches total. `one_bar=True` (detectors): one bar
    whose label is the current stage and whose fill is done/total of the whole job.
    `enabled=False` draws nothing (quiet, or stderr is not a terminal)."""

    def __init__(self, console: Console | None = None, *, one_bar: bool = False, enabled: bool = True) -> None:
        columns = [TextColumn("{task.description}"), BarColumn()]
        if not one_bar:
            columns.append(MofNCompleteColumn())
        columns.append(TimeElapsedColumn())
        self._rich = Progress(*columns, console=console or Console(stderr=True), disable=not enabled)
        self._one_bar = one_bar
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._rich.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._rich.stop()

    def __call__(self, stage: str, done: float, total: float | None = None) -> None:
        key = "job" if self._one_bar else stage
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = self._rich.add_task(stage, total=total)
        self._rich.update(task, description=stage, completed=done, total=total)
        if not self._one_bar and total is not None and done >= total:
            self._rich.stop_task(task)

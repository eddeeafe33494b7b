"""The ingest report (per-table counts, ignored files, digest), its JSON form, its rich table,
and the optional progress bar."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "ingest-report.json"
QUARANTINE_FILE = "quarantine.jsonl"


@dataclass
class TableReport:
    """Counts of one table. `accepted` includes duplicates; `written` = accepted - duplicates.

    `bare_endpoints`: distinct ids this table references that this snapshot does not define
    (per node kind: account, content), i.e. the bare nodes it needs. `bare_created`: how many
    of them the store did not have yet and created (0 on a re-run).
    """

    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    written: int = 0
    bare_endpoints: dict[str, int] = field(default_factory=dict)
    bare_created: dict[str, int] = field(default_factory=dict)
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    digest: str | None = None

    @property
    def bare_total(self) -> int:
        return sum(self.bare_endpoints.values())


@dataclass
class IngestReport:
    """What one ingest did. Saved as ingest-report.json beside the quarantine file."""

    snapshot: str
    store: str | None = None
    status: str = "running"  # running | ok | failed
    digest: str | None = None
    tables: dict[str, TableReport] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)  # url / hashtag nodes written
    ignored_files: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    quarantine_file: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase: stage, dedup, write

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["totals"] = {
            k: sum(getattr(t, k) for t in self.tables.values())
            for k in ("rows_read", "accepted", "rejected", "duplicates", "written")
        }
        return d

    def save(self, directory: Path) -> Path:
        """Write ingest-report.json atomically into `directory`."""
        path = Path(directory) / REPORT_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


def render_report(report: IngestReport) -> Any:
    """The report as a rich renderable (tables, ignored files, digest)."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"ingest of {report.snapshot}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("table", "files", "read", "accepted", "rejected", "dups", "written", "bare", "new"):
        t.add_column(col, justify="left" if col == "table" else "right", no_wrap=True)
    for name, tr in report.tables.items():
        t.add_row(
            name,
            str(len(tr.files)),
            f"{tr.rows_read:,}",
            f"{tr.accepted:,}",
            f"[red]{tr.rejected:,}[/]" if tr.rejected else "0",
            f"{tr.duplicates:,}",
            f"{tr.written:,}",
            f"{tr.bare_total:,}",
            f"{sum(tr.bare_created.values()):,}",
        )
    parts: list[Any] = [
        t,
        Text(
            "bare: ids referenced but not defined in the snapshot; new: bare nodes the store did not have yet",
            style="dim",
        ),
    ]
    if report.nodes:
        parts.append(Text("nodes from links: " + ", ".join(f"{k} {v:,}" for k, v in report.nodes.items())))
    for f in report.ignored_files:
        parts.append(Text(f"ignored file {f['file']}: {f['reason']}", style="yellow"))
    for w in report.warnings:
        parts.append(Text(f"warning: {w}", style="yellow"))
    for e in report.errors:
        parts.append(Text(f"error: {e}", style="bold red"))
    if report.rejected and report.quarantine_file:
        parts.append(Text(f"{report.rejected:,} rejected rows in {report.quarantine_file}"))
    if report.digest:
        parts.append(Text(f"snapshot digest sha256:{report.digest}"))
    if report.seconds is not None:
        rate = report.rows_read / report.seconds if report.seconds > 0 else 0.0
        parts.append(Text(f"{report.status} in {report.seconds:.2f} s ({rate:,.0f} rows/s)"))
    return Group(*parts)


class ProgressBar:
    """A rich progress bar on stderr, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> ProgressBar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def task(self, description: str, total: int | None) -> int | None:
        return None if self._progress is None else self._progress.add_task(description, total=total)

    def advance(self, task: int | None, n: int) -> None:
        if self._progress is not None and task is not None:
            self._progress.advance(task, n)

    def finish(self, task: int | None, total: int) -> None:
        """Mark a task done (its total becomes what was counted, its clock stops)."""
        if self._progress is not None and task is not None:
            self._progress.update(task, total=total, completed=total)
            self._progress.stop_task(task)

"""CLI command `crumbgraph ingest`: load a snapshot directory into the store, print the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ingest.report import IngestReport


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command()
    def ingest(
        ctx: typer.Context,
        snapshot_dir: Annotated[Path, typer.Argument(help="Snapshot directory (ingest format v1).")],
        store: Annotated[str | None, typer.Option(help="Store URL (default: CRUMBGRAPH_STORE).")] = None,
        quarantine: Annotated[
            Path | None,
            typer.Option(
                help="Folder for quarantine.jsonl and ingest-report.json "
                "(default: a new folder under CRUMBGRAPH_STATE_DIR/ingests/)."
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no report table.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
        batch_rows: Annotated[int, typer.Option(help="Rows per read and write batch.", min=1)] = 250_000,
    ) -> None:
        """Validate a snapshot and write it into the graph store; rejected rows go to the quarantine."""
        from rich.console import Console

        from api.cli import cli_settings
        from api.cli_progress import RichProgress
        from api.settings import reader_limits
        from graph.store import open_store
        from ingest.pipeline import load_snapshot
        from ingest.report import new_ingest_dir

        settings = cli_settings(ctx)
        show = not quiet and not as_json
        qdir = quarantine or new_ingest_dir(settings.state_dir)
        if not quiet:
            typer.echo(f"ingest report and quarantine: {qdir}", err=True)
        with (
            open_store(settings.store_config(store)) as graph,
            RichProgress(enabled=show and sys.stderr.isatty()) as progress,
        ):
            report = load_snapshot(
                snapshot_dir,
                graph,
                quarantine_dir=qdir,
                progress=progress,
                batch_rows=batch_rows,
                limits=reader_limits(settings),
            )
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        elif show:
            Console().print(render_report(report))


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

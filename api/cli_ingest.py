"""CLI command `crumbgraph ingest`: load a snapshot directory into the store, print the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


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
                help="Folder for quarantine.jsonl and ingest-report.json (default: <snapshot>.ingest beside it)."
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no report table.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
        batch_rows: Annotated[int, typer.Option(help="Rows per read and write batch.", min=1)] = 250_000,
    ) -> None:
        """Validate a snapshot and write it into the graph store; rejected rows go to the quarantine."""
        from rich.console import Console

        from api.cli import cli_settings
        from graph.store import open_store
        from ingest.pipeline import load_snapshot
        from ingest.report import render_report

        settings = cli_settings(ctx)
        show = not quiet and not as_json
        with open_store(settings.store_config(store)) as graph:
            report = load_snapshot(
                snapshot_dir,
                graph,
                quarantine_dir=quarantine,
                progress=show and sys.stderr.isatty(),
                batch_rows=batch_rows,
            )
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        elif show:
            Console().print(render_report(report))

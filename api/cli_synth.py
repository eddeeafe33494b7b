"""CLI command `crumbgraph synth`: write a synthetic snapshot (test and demo data, never real)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graph.progress import fraction


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("synth")
    def synth_cmd(
        out: Path = typer.Option(..., "--out", help="Snapshot directory to write (created if missing)."),
        accounts: int = typer.Option(20_000, "--accounts", min=1000, help="Number of accounts."),
        seed: int = typer.Option(0, "--seed", min=0, help="Random seed; same seed and size give identical files."),
        fmt: str = typer.Option("parquet", "--format", help="parquet, csv or jsonl."),
        split: int = typer.Option(0, "--split", min=0, help="Files per table (0: one per 5,000,000 rows)."),
        force: bool = typer.Option(False, "--force", help="Replace snapshot files already in --out."),
        background_mix: float = typer.Option(
            0.0,
            "--background-mix",
            min=0.0,
            max=10.0,
            help="Give cluster members an ordinary background life, this many times an ordinary account's "
            "(0: none, today's snapshots; 1.0: as much as anyone). See docs/synthetic-data.md.",
        ),
        world: str = typer.Option(
            "adversarial",
            "--world",
            help="adversarial (default: every situation that punishes a detection shortcut) or classic "
            "(the planted structures of truth version 1 only). See docs/synthetic-data.md.",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary output."),
    ) -> None:
        """Write a SYNTHETIC snapshot (accounts, content, follows, links) plus truth.json of what was planted."""
        from synth import synth

        console = Console(stderr=True, quiet=quiet)
        with Progress(
            TextColumn("synth: {task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("generate", total=1.0)

            def show(stage: str, done: float, total: float | None = None) -> None:
                bar.update(task, description=stage, completed=fraction(done, total) or 0.0)

            summary = synth(
                out,
                accounts=accounts,
                seed=seed,
                fmt=fmt,
                split=split,
                force=force,
                background_mix=background_mix,
                world=world,
                progress=show,
            )
        if quiet:
            return
        table = Table(title=f"synthetic snapshot -> {summary.out_dir} ({summary.format})")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in summary.rows.items():
            table.add_row(name, f"{rows:,}")
        Console().print(table)
        planted = ", ".join(f"{v} {k}" for k, v in summary.truth_counts.items())
        typer.echo(f"planted: {planted} (see truth.json); {summary.seconds:.1f} s")

"""CLI commands `publish` and `unpublish`: a run's results written into (or removed from) Neo4j."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli import cli_settings


def register(app: typer.Typer) -> None:
    @app.command("publish")
    def publish_cmd(
        ctx: typer.Context,
        run: Annotated[str, typer.Argument(help="A run id, `latest`, or a run folder.")],
        store: Annotated[str | None, typer.Option(help="Neo4j URL (default: CRUMBGRAPH_STORE).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    ) -> None:
        """Write a run's clusters, pathways, flagged accounts and exposure into Neo4j (idempotent)."""
        from detectors.runfolder import run_ref
        from graph.store import open_store
        from publish import publish_run

        settings = cli_settings(ctx)
        with open_store(settings.store_config(store)) as st:
            report = publish_run(run_ref(run), st, runs_dir=settings.runs_dir)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            counts = ", ".join(f"{v} {k}" for k, v in report.to_dict().items() if k not in {"run_id", "store"})
            typer.echo(f"published run {report.run_id} into {report.store}: {counts}")

    @app.command("unpublish")
    def unpublish_cmd(
        ctx: typer.Context,
        run_id: Annotated[str, typer.Argument(help="The run id to remove.")],
        store: Annotated[str | None, typer.Option(help="Neo4j URL (default: CRUMBGRAPH_STORE).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    ) -> None:
        """Remove exactly what `publish` wrote for a run (the snapshot's nodes stay)."""
        from graph.store import open_store
        from publish import unpublish_run

        settings = cli_settings(ctx)
        with open_store(settings.store_config(store)) as st:
            report = unpublish_run(run_id, st)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            typer.echo(
                f"unpublished run {report.run_id} from {report.store}: {report.clusters} clusters, "
                f"{report.pathways} pathways, {report.flags} flags removed"
            )

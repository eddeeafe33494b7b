"""CLI commands: `crumbgraph neo4j start|stop|status` over ops.neo4j_server (parse, call, print)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from ops.neo4j_server import NEO4J_VERSION, ServerConfig


def _dev_password() -> str:
    from api.settings import Settings

    return str(Settings.model_fields["neo4j_password"].default.get_secret_value())


def _config(ctx: typer.Context, home: Path | None, port: int | None) -> ServerConfig:
    from api.cli import cli_settings

    return ServerConfig.from_settings(cli_settings(ctx), home=home, bolt_port=port)


def register(app: typer.Typer) -> None:
    """Add the `neo4j` command group to `app`."""
    group = typer.Typer(
        no_args_is_help=True, help=f"A local Neo4j {NEO4J_VERSION} (no Docker): start, stop, status, bulk import."
    )
    app.add_typer(group, name="neo4j")

    home_opt = typer.Option(None, "--home", help="Server folder (jars, conf, data, logs) [CRUMBGRAPH_NEO4J_HOME]")

    @group.command("start")
    def start_cmd(
        ctx: typer.Context,
        home: Path | None = home_opt,
        port: int | None = typer.Option(None, "--port", help="Bolt port, 0 = a free one [CRUMBGRAPH_NEO4J_BOLT_PORT]"),
        timeout: float = typer.Option(180.0, help="Seconds to wait for Bolt"),
    ) -> None:
        """Start Neo4j and wait until Bolt answers; prints `export` lines for the shell on stdout."""
        from ops.neo4j_server import start

        cfg = _config(ctx, home, port)
        result = start(cfg, timeout=timeout)
        if result.already_running:
            typer.echo(f"Neo4j already running (pid {result.pid}) on {result.uri}", err=True)
        else:
            kind = "cold start, new data folder" if result.fresh else "warm start"
            typer.echo(
                f"Neo4j {NEO4J_VERSION} started in {result.seconds:.1f} s ({kind}), pid {result.pid}, "
                f"log {cfg.log_file}",
                err=True,
            )
        typer.echo(f"export CRUMBGRAPH_NEO4J_URI={result.uri}")
        typer.echo(f"export CRUMBGRAPH_NEO4J_USER={cfg.user}")
        if cfg.password == _dev_password():  # the public development default may be shown
            typer.echo(f"export CRUMBGRAPH_NEO4J_PASSWORD={cfg.password}")
        else:
            typer.echo("# export CRUMBGRAPH_NEO4J_PASSWORD=...  (the password from your settings; not printed)")

    _register_import(group, home_opt)

    @group.command("stop")
    def stop_cmd(
        ctx: typer.Context,
        home: Path | None = home_opt,
        timeout: float = typer.Option(60.0, help="Seconds to wait before SIGKILL"),
    ) -> None:
        """Stop the Neo4j of this home (SIGTERM, then SIGKILL after --timeout)."""
        from ops.neo4j_server import stop

        pid = stop(_config(ctx, home, None), timeout=timeout)
        typer.echo(f"Neo4j (pid {pid}) stopped" if pid else "Neo4j was not running")

    @group.command("status")
    def status_cmd(ctx: typer.Context, home: Path | None = home_opt) -> None:
        """Say whether Neo4j runs and answers Bolt; exit code 3 if it does not."""
        from ops.neo4j_server import status

        st = status(_config(ctx, home, None))
        if st.running:
            typer.echo(f"running pid {st.pid} {st.uri} bolt={'ok' if st.bolt_ok else 'FAILING'} home {st.home}")
        else:
            typer.echo(f"not running (home {st.home})")
        if not st.bolt_ok:
            if st.running:
                typer.echo(st.detail, err=True)
            raise typer.Exit(3)


def _register_import(group: typer.Typer, home_opt: Any) -> None:
    """Add `neo4j import` (the bulk load) to the `neo4j` group."""

    @group.command("import")
    def import_cmd(
        ctx: typer.Context,
        snapshot_dir: Path = typer.Argument(..., help="Snapshot directory (ingest format v1)."),
        home: Path | None = home_opt,
        port: int | None = typer.Option(None, "--port", help="Bolt port, 0 = a free one (default: the home's own)"),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a database that already holds nodes."),
        quarantine: Path | None = typer.Option(
            None, help="Folder for quarantine.jsonl and ingest-report.json (default: <snapshot>.ingest beside it)."
        ),
        threads: int | None = typer.Option(None, help="Import tool worker threads (default: every core)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report and timings as JSON on stdout."),
    ) -> None:
        """Bulk-load a snapshot into a fresh database with neo4j-admin import (server stopped and
        started again around it); same validation, quarantine, report and graph as `ingest`."""
        import json

        from rich.console import Console

        from api.cli_ingest import render_report
        from ops.neo4j_import import bulk_import

        cfg = _config(ctx, home, port)
        if port is None:  # the port the home's server was set up with
            cfg = replace(cfg, bolt_port=cfg.configured_port())
        result = bulk_import(snapshot_dir, cfg, overwrite=overwrite, quarantine_dir=quarantine, threads=threads)
        rels = result.total_relationships
        if as_json:
            out = {"report": result.report.to_dict(), "nodes": result.nodes, "relationships": result.relationships}
            typer.echo(json.dumps({**out, "seconds": result.seconds}, indent=2, sort_keys=True))
            return
        Console().print(render_report(result.report))
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        rate = rels / result.seconds["total"] if result.seconds["total"] > 0 else 0.0
        typer.echo(f"{sum(result.nodes.values()):,} nodes, {rels:,} relationships ({rate:,.0f} rels/s): {steps}")

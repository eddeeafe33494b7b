"""The `crumbgraph` command line: a thin layer over the library (parse, call, format).

Each command group lives in its own module with a `register(app)` function, so that
groups can grow without touching each other. Errors map to exit codes:
1 general, 2 bad input, 3 external dependency (see graph.errors).
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from graph.errors import CrumbgraphError

#: command modules, in help order
COMMAND_MODULES = (
    "api.cli_ingest",  # ingest
    "api.cli_synth",  # synth
    "api.cli_detect",  # run, detect, demo
    "api.cli_neo4j",  # neo4j start|stop|status
    "api.cli_serve",  # serve, users, audit
    "api.cli_evidence",  # keys init|show, export, verify, rerun
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="crumbgraph",
        no_args_is_help=True,
        add_completion=False,
        help="Find digital breadcrumbs in platform metadata (never media).",
    )

    @app.callback()
    def _root() -> None:
        """crumbgraph: metadata-only breadcrumb finder."""

    @app.command()
    def version() -> None:
        """Print crumbgraph's version."""
        from importlib.metadata import version as _v

        typer.echo(_v("crumbgraph"))

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    app = build_app()
    try:
        app()  # standalone: click handles usage errors (exit 2) and --help itself
    except CrumbgraphError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()

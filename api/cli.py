"""The `crumbgraph` command line: a thin layer over the library (parse, call, format).

Each command group lives in its own module with a `register(app)` function, so that
groups can grow without touching each other. The root callback reads Settings once per
invocation, keeps them on the context (`cli_settings(ctx)`) and configures logging. Errors map to exit
codes: 1 general, 2 bad input, 3 external dependency (see graph.errors).
"""

from __future__ import annotations

import importlib
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from api.logs import configure_logging
from api.settings import Settings
from graph.errors import ConfigError, CrumbgraphError

#: command modules, in help order
COMMAND_MODULES = (
    "api.cli_ingest",  # ingest
    "api.cli_synth",  # synth
    "api.cli_detect",  # run, detect, demo
    "api.cli_neo4j",  # neo4j start|stop|status
    "api.cli_serve",  # serve, users, audit
    "api.cli_evidence",  # keys init|show, export, verify, rerun
    "api.cli_publish",  # publish, unpublish
)


def read_settings() -> Settings:
    """Settings from the environment (CRUMBGRAPH_*); ConfigError naming what is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"settings: {exc}") from None


def cli_settings(ctx: typer.Context) -> Settings:
    """The Settings the root callback read for this invocation (commands take `ctx: typer.Context`
    and pass what they need of it down)."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # a command run without the root callback
        raise ConfigError("no settings: run commands through `crumbgraph` (api.cli.build_app)")
    return settings


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="crumbgraph",
        no_args_is_help=True,
        add_completion=False,
        help="Find digital breadcrumbs in platform metadata (never media).",
    )

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        """crumbgraph: metadata-only breadcrumb finder."""
        settings = read_settings()
        configure_logging(settings.log_level or "WARNING", settings.log_format)
        ctx.obj = settings

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

"""CLI commands: `serve` (the investigator API), `users add|list|revoke`, `audit verify|rerun`."""

from __future__ import annotations

import typer

from api.cli import cli_settings
from casework import Role


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    _register_serve(app)
    _register_users(app)
    _register_audit(app)


def _register_serve(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: str = typer.Option(None, help="Interface to listen on [default: settings.api_host]"),
        port: int = typer.Option(None, help="Port [default: settings.api_port]"),
        store: str = typer.Option(None, help="Store URL [default: CRUMBGRAPH_STORE]"),
    ) -> None:
        """Serve the investigator API (FastAPI on uvicorn; one process: the embedded store allows
        one writer, and rate limits, key cache and results index live in this process)."""
        import uvicorn

        from api.app import create_app
        from api.logs import configure_logging
        from api.settings import check_serve_security

        settings = cli_settings(ctx)
        if store:
            settings = settings.model_copy(update={"store": store})
        level = settings.log_level or "INFO"
        configure_logging(level, settings.log_format)  # a server says what it does: INFO unless set
        host = host or settings.api_host
        for warning in check_serve_security(settings, host):  # refuses the public Neo4j password off loopback
            typer.echo(warning, err=True)
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port or settings.api_port,
            log_config=None,  # uvicorn's records go through our handler (api.logs)
            log_level=level.lower(),
            access_log=False,  # the audit log is the access log
        )


def _register_users(app: typer.Typer) -> None:
    users = typer.Typer(help="API users and their keys.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        ctx: typer.Context,
        name: str,
        role: str = typer.Option(..., "--role", help=" | ".join(Role)),
    ) -> None:
        """Add a user and print its API key (shown this once; only a hash is stored)."""
        from api.auth import create_user
        from casework import open_casework

        with open_casework(cli_settings(ctx).state_dir) as casework:
            user, key = create_user(casework.users, name, role)
        typer.echo(f"user {user.name} ({user.role}), key id {user.key_id}", err=True)
        typer.echo(key)

    @users.command("list")
    def users_list(ctx: typer.Context) -> None:
        """List users: name, role, key id, created, revoked."""
        from casework import open_casework

        with open_casework(cli_settings(ctx).state_dir) as casework:
            for u in casework.users.list_users():
                typer.echo(f"{u.name}\t{u.role}\t{u.key_id}\t{u.created_at}\t{u.revoked_at or 'active'}")

    @users.command("revoke")
    def users_revoke(ctx: typer.Context, name: str) -> None:
        """Revoke a user's key (a running server refuses it from the next request)."""
        from casework import open_casework

        with open_casework(cli_settings(ctx).state_dir) as casework:
            user = casework.users.revoke_user(name)
        typer.echo(f"revoked {user.name} at {user.revoked_at}")


def _register_audit(app: typer.Typer) -> None:
    audit = typer.Typer(help="The audit log.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def audit_verify(
        ctx: typer.Context,
        head: str = typer.Option(None, help="SEQ:HASH recorded earlier; also checks nothing was cut off the end"),
    ) -> None:
        """Check the hash chain; exit 1 naming the first edited, inserted or deleted entry."""
        from casework import open_casework

        with open_casework(cli_settings(ctx).state_dir) as casework:
            finding = casework.audit.verify(head=head)
        if not finding.ok:
            typer.echo(f"FAIL: {finding.message}")
            raise typer.Exit(1)
        typer.echo(f"OK: {finding.message}; head {finding.head_seq}:{finding.head_hash}")

    @audit.command("rerun")
    def audit_rerun(
        ctx: typer.Context,
        run_id: str = typer.Argument(..., help="Run id (under CRUMBGRAPH_RUNS_DIR) or run folder"),
        as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON"),
    ) -> None:
        """Re-run a run's detectors on its frozen input (same as `crumbgraph rerun`); exit 1 naming differences."""
        from api.cli_evidence import rerun_command

        rerun_command(cli_settings(ctx), run_id, as_json)

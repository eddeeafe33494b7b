"""CLI commands for evidence and audit: `keys init|show`, `export`, `verify`, `rerun`."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from api.cli import cli_settings
from api.settings import Settings
from evidence.selection import Limits

if TYPE_CHECKING:
    from evidence.verify import Trust, Verification


def _trust_args(public_keys: list[str], keyrings: list[Path], fingerprints: list[str], settings: Settings) -> Trust:
    """What `verify` trusts: --public-key (base64 text, or a file holding it or a PEM), --keyring
    files, --fingerprint values; with none of them, the local signing key if there is one."""
    from evidence.signing import PUBLIC_KEY_FILE, PublicKey, load_public_key
    from evidence.verify import Trust, read_keyring

    keys: list[PublicKey] = []
    for value in public_keys:
        p = Path(value)
        keys.append(PublicKey.from_text(p.read_text() if p.is_file() else value))
    for ring in keyrings:
        keys.extend(read_keyring(ring))
    fps = tuple(f.strip().lower().replace(":", "") for f in fingerprints)
    if not keys and not fps and (settings.keys_dir / PUBLIC_KEY_FILE).exists():
        keys.append(load_public_key(settings.keys_dir))
    return Trust(keys=tuple(keys), fingerprints=fps)


def _run_arg(value: str) -> str | Path:
    """A run id, or (when it contains a path separator or names a folder with run.json) a run folder."""
    from detectors.runfolder import run_ref

    return run_ref(value)


def rerun_command(settings: Settings, run_id: str, as_json: bool) -> None:
    """`crumbgraph rerun` and its alias `crumbgraph audit rerun`: parse, call detectors.rerun, print."""
    from detectors.rerun import rerun as do_rerun

    report = do_rerun(_run_arg(run_id), runs_dir=settings.runs_dir)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.summary():
            typer.echo(line)
    if not report.reproduced:
        raise typer.Exit(1)


def keys_init(
    ctx: typer.Context,
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace an existing key (packages signed with it can then only be checked with its saved public key)",
    ),
) -> None:
    """Create the signing key under CRUMBGRAPH_KEYS_DIR (private key file mode 0600)."""
    from evidence.signing import init_keys

    settings = cli_settings(ctx)
    pub = init_keys(settings.keys_dir, force=force)
    typer.echo(f"signing key {pub.key_id} created in {settings.keys_dir}", err=True)
    typer.echo(pub.b64)


def keys_show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print a JSON object")) -> None:
    """Print the public key (base64 of the 32 raw Ed25519 bytes) that verifies packages."""
    from evidence.signing import ALGORITHM, load_public_key

    pub = load_public_key(cli_settings(ctx).keys_dir)
    if as_json:
        typer.echo(
            json.dumps(
                {"algorithm": ALGORITHM, "key_id": pub.key_id, "fingerprint": pub.fingerprint, "public_key": pub.b64}
            )
        )
    else:
        typer.echo(pub.b64)
        typer.echo(f"key id {pub.key_id} ({ALGORITHM}), fingerprint sha256 {pub.fingerprint}", err=True)


def _audit_export(settings: Settings, who: str, manifest: dict[str, Any], out: Path, seconds: float) -> None:
    """Every export is recorded in the audit log (who, which run, which selection, which package)."""
    from casework import open_casework

    state = open_casework(settings.state_dir)
    try:
        state.audit.append(
            user_name=who,
            role="cli",
            method="CLI",
            route="export",
            params={
                "run_id": manifest["run_id"],
                "package_id": manifest["package_id"],
                "selection": manifest["selection"],
                "limits": manifest["limits"],
                "out": str(out),
            },
            status=0,
            result_count=manifest["counts"]["nodes"],
            duration_ms=seconds * 1000,
        )
    finally:
        state.close()


def export_command(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Run id (under CRUMBGRAPH_RUNS_DIR) or run folder"),
    out: Path = typer.Option(..., "--out", "-o", help="New package directory"),
    cluster: list[str] = typer.Option([], "--cluster", help="Cluster id (repeatable)"),
    account: list[str] = typer.Option([], "--account", help="Account id (repeatable)"),
    pathway: list[str] = typer.Option([], "--pathway", help="Pathway id (repeatable)"),
    hops: int = typer.Option(Limits.default("hops"), help="Hops of context around the selection (0-3)"),
    max_nodes: int = typer.Option(Limits.default("max_nodes"), help="At most this many nodes"),
    max_edges: int = typer.Option(Limits.default("max_edges"), help="At most this many edges"),
    max_pathways: int = typer.Option(Limits.default("max_pathways"), help="At most this many pathways"),
    formats: str = typer.Option(None, "--formats", help="Comma-separated exporter names [default: all]"),
    by: str = typer.Option(None, "--by", help="Who exports (recorded) [default: OS user]"),
) -> None:
    """Write a signed evidence package of the selected clusters, accounts and pathways of a run."""
    from pydantic import ValidationError

    from evidence.package import build_package
    from evidence.selection import Selection
    from evidence.signing import load_signing_key
    from graph.errors import ConfigError

    settings = cli_settings(ctx)
    try:
        limits = Limits(hops=hops, max_nodes=max_nodes, max_edges=max_edges, max_pathways=max_pathways)
    except ValidationError as exc:
        raise ConfigError(f"export limits: {exc}") from None
    selection = Selection(clusters=tuple(cluster), accounts=tuple(account), pathways=tuple(pathway))
    who = by or getpass.getuser()
    t = time.perf_counter()
    pkg = build_package(
        _run_arg(run_id),
        out,
        selection,
        load_signing_key(settings.keys_dir),
        limits=limits,
        runs_dir=settings.runs_dir,
        exported_by=who,
        formats=[f.strip() for f in formats.split(",")] if formats else None,
    )
    _audit_export(settings, who, pkg.manifest, out, time.perf_counter() - t)
    c = pkg.manifest["counts"]
    typer.echo(
        f"package {pkg.manifest['package_id']} in {out}: {c['nodes']} nodes, {c['edges']} edges, "
        f"{c['pathways']} pathways"
        + (" (truncated by limits)" if pkg.manifest["truncated"] else "")
        + f"; signed by key {pkg.manifest['signer']['key_id']}"
    )


def verify_command(
    ctx: typer.Context,
    package: Path = typer.Argument(..., help="Package directory"),
    public_key: list[str] = typer.Option(
        [], "--public-key", help="Trusted public key (base64, or a file holding it); repeatable"
    ),
    keyring: list[Path] = typer.Option([], "--keyring", help="File of trusted public keys, one a line; repeatable"),
    fingerprint: list[str] = typer.Option(
        [], "--fingerprint", help="Trusted signer fingerprint (hex sha256 of the key, or its 16-digit key id)"
    ),
) -> None:
    """Check a package's signature and every file; VALID (exit 0) only when it is intact and signed
    by a trusted key (--public-key, --keyring, --fingerprint, else the local signing key); exit 1
    naming what changed, or saying the signer is unverified."""
    from evidence.verify import verify_package

    v = verify_package(package, _trust_args(public_key, keyring, fingerprint, cli_settings(ctx)))
    if not v.intact:
        for p in v.problems:
            typer.echo(f"FAIL: {p}")
        raise typer.Exit(1)
    if not v.ok:
        typer.echo(
            f"UNVERIFIED: the files match the manifest, but its signer (key {v.key_id}) is not a key you "
            "trust; anyone can re-sign an altered package. Pass --public-key, --keyring or --fingerprint "
            "with the key published by the exporting organisation."
        )
        raise typer.Exit(1)
    typer.echo(_valid_line(v))


def _valid_line(v: Verification) -> str:
    m = v.manifest or {}
    return (
        f"VALID: {len(m.get('files', {}))} files match the manifest signed by trusted key {v.key_id}; "
        f"run {m.get('run_id')}, snapshot {str(m.get('snapshot_digest'))[:16]}…, "
        f"exported by {m.get('exported_by')} at {m.get('exported_at')}"
    )


def rerun_cli(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Run id (under CRUMBGRAPH_RUNS_DIR) or run folder"),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON"),
) -> None:
    """Re-run a run's detectors on its frozen input; exit 0 if reproduced, 1 naming every difference."""
    rerun_command(cli_settings(ctx), run_id, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    keys = typer.Typer(help="The evidence signing key (Ed25519).", no_args_is_help=True)
    app.add_typer(keys, name="keys")
    keys.command("init")(keys_init)
    keys.command("show")(keys_show)
    app.command("export")(export_command)
    app.command("verify")(verify_command)
    app.command("rerun")(rerun_cli)

"""CLI commands `crumbgraph run`, `detect` and `demo`: ingest and/or run every detector, then
print a summary (parse, call one library function, format)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli import cli_settings
from api.cli_progress import RichProgress
from api.settings import Settings
from graph.errors import ConfigError

if TYPE_CHECKING:  # the CLI imports the library lazily: `crumbgraph --help` stays fast
    from detectors.results import Cluster, FlaggedAccount, Pathway, Results

ARROW = " → "


def draw_pathway(pw: Pathway) -> str:
    """`video c1 → comment c9 → @a7 → url https://…` for a pathway of results.json."""
    from graph.model import NodeKind

    parts = []
    for n in pw.nodes:
        if n.kind == NodeKind.ACCOUNT:
            parts.append(f"@{n.id}")
        elif n.kind == NodeKind.HASHTAG:
            parts.append(f"#{n.id}")
        elif n.kind == NodeKind.URL:
            parts.append(f"url {n.id}")
        else:
            parts.append(f"{n.content_kind or 'content'} {n.id}")
    return ARROW.join(parts)


def _cluster_table(clusters: list[Cluster], top: int) -> Table:
    t = Table(title=f"abusive clusters ({len(clusters)})")
    for col, just in (
        ("cluster", "left"),
        ("accounts", "right"),
        ("content", "right"),
        ("invite urls", "right"),
        ("coded hashtags", "left"),
        ("score", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in clusters[:top]:
        t.add_row(
            c.cluster_id,
            str(len(c.accounts)),
            str(len(c.content)),
            str(len(c.urls or [])),
            ", ".join("#" + h for h in (c.hashtags or [])[:4]),
            f"{c.score:.3g}",
        )
    return t


def _bridge_table(bridges: list[FlaggedAccount], top: int) -> Table:
    t = Table(title=f"bridges: accounts laying breadcrumbs ({len(bridges)})")
    t.add_column("account")
    t.add_column("probability mass", justify="right")
    t.add_column("pathways", justify="right")
    for r in bridges[:top]:
        t.add_row(r.account_id, f"{r.score:.3g}", str(len(r.pathways)))
    return t


def _contact_table(contacts: list[FlaggedAccount], top: int) -> Table:
    t = Table(title=f"grooming-like contact ({len(contacts)})")
    for col in ("account", "minors", "largest connected share", "score"):
        t.add_column(col, justify="left" if col == "account" else "right")
    for r in contacts[:top]:
        t.add_row(
            r.account_id,
            str(r.minors if r.minors is not None else ""),
            f"{r.largest_connected_share or 0:.2f}",
            f"{r.score:.3g}",
        )
    return t


def render_summary(results: Results, console: Console, top: int = 10) -> None:
    """Print clusters, top bridges, suspicious contacts, top pathways and the most exposed items."""
    from detectors.results import Role

    console.print(_cluster_table(results.clusters, top))
    by_role: dict[Role, list[FlaggedAccount]] = {}
    for r in results.flagged_accounts:
        by_role.setdefault(r.role, []).append(r)
    console.print(_bridge_table(by_role.get(Role.BRIDGE, []), top))
    if by_role.get(Role.SUSPICIOUS_CONTACT):
        console.print(_contact_table(by_role[Role.SUSPICIOUS_CONTACT], top))
    pws = results.pathways
    console.print(
        f"[bold]top of the pathway queue[/] ({len(pws)} in all; score = tier + evidence, "
        "then click probability p: docs/detectors.md)"
    )
    for pw in pws[:top]:
        layers = pw.laid_by or pw.bridges
        console.print(
            f"  {pw.score:.2f}  {pw.shape.value if pw.shape else ''}  {draw_pathway(pw)}  [dim]→ {pw.cluster_id}"
            f"{' laid by ' + ', '.join(layers) if layers else ''}"
            f"{f'  p={pw.probability:.1e}' if pw.probability is not None else ''}[/]",
            highlight=False,
        )
    if results.exposure:
        console.print(
            "[bold]most exposed child-oriented items[/] (clean these comment sections first): "
            + ", ".join(f"{e.content_id} ({e.probability:.2g})" for e in results.exposure[:5]),
            highlight=False,
        )


def _load_params(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        params: dict[str, Any] = json.loads(path.read_text())
        return params
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--params {path}: {exc}") from exc


def _detect(
    settings: Settings,
    store_url: str | None,
    runs_dir: Path | None,
    params: dict[str, Any] | None,
    out: Path | None,
    quiet: bool,
    snapshot_dir: Path | None = None,
    top: int = 10,
) -> None:
    from detectors import runfolder
    from detectors.runner import run_detectors
    from graph.store import open_store

    console = Console(stderr=True, quiet=quiet)
    with open_store(settings.store_config(store_url)) as store:
        store.ensure_schema()
        if snapshot_dir is not None:
            from api.settings import reader_limits
            from ingest.pipeline import load_snapshot
            from ingest.report import new_ingest_dir

            qdir = new_ingest_dir(settings.state_dir)
            console.print(f"ingesting {snapshot_dir} into {store.url}; report and quarantine: {qdir}")
            with RichProgress(console, enabled=not quiet and sys.stderr.isatty()) as progress:
                report = load_snapshot(
                    snapshot_dir, store, quarantine_dir=qdir, progress=progress, limits=reader_limits(settings)
                )
            console.print(f"ingested: digest {report.digest}")
        with RichProgress(console, one_bar=True, enabled=not quiet) as progress:
            record = run_detectors(store, params=params, runs_dir=runs_dir or settings.runs_dir, on_progress=progress)
    results_path = runfolder.results_path(record.run_dir or ".")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results_path, out)
    if not quiet:
        from detectors.results import Results

        render_summary(Results.model_validate_json(results_path.read_bytes()), Console(), top=top)
        typer.echo(f"run {record.run_id}: {results_path}" + (f" (copied to {out})" if out else ""))


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("run")
    def run_cmd(
        ctx: typer.Context,
        snapshot_dir: Annotated[Path, typer.Argument(help="Snapshot directory (ingest format v1).")],
        out: Annotated[Path | None, typer.Option("--out", help="Also write results.json here.")] = None,
        store: Annotated[str | None, typer.Option(help="Store URL (default: CRUMBGRAPH_STORE).")] = None,
        runs_dir: Annotated[Path | None, typer.Option(help="Run folders (default: CRUMBGRAPH_RUNS_DIR).")] = None,
        params: Annotated[Path | None, typer.Option(help="JSON file of detector parameters.")] = None,
        top: Annotated[int, typer.Option(help="Rows per summary table.")] = 10,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    ) -> None:
        """The main job: ingest SNAPSHOT_DIR into the store, run every detector, print a summary."""
        settings = cli_settings(ctx)
        _detect(settings, store, runs_dir, _load_params(params), out, quiet, snapshot_dir=snapshot_dir, top=top)

    @app.command("detect")
    def detect_cmd(
        ctx: typer.Context,
        store: Annotated[str | None, typer.Option(help="Store URL (default: CRUMBGRAPH_STORE).")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Also write results.json here.")] = None,
        runs_dir: Annotated[Path | None, typer.Option(help="Run folders (default: CRUMBGRAPH_RUNS_DIR).")] = None,
        params: Annotated[Path | None, typer.Option(help="JSON file of detector parameters.")] = None,
        top: Annotated[int, typer.Option(help="Rows per summary table.")] = 10,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    ) -> None:
        """Run every detector on what is already in the store."""
        _detect(cli_settings(ctx), store, runs_dir, _load_params(params), out, quiet, top=top)

    @app.command("demo")
    def demo_cmd(
        ctx: typer.Context,
        accounts: Annotated[int, typer.Option(help="Synthetic accounts.", min=1000)] = 5000,
        seed: Annotated[int, typer.Option(help="Generator seed.", min=0)] = 7,
        dir: Annotated[Path, typer.Option("--dir", help="Folder for the snapshot, store and runs.")] = Path("demo"),
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    ) -> None:
        """Synthesise a small SYNTHETIC snapshot and run everything on it (a fresh embedded store in --dir)."""
        from synth import synth

        console = Console(stderr=True, quiet=quiet)
        snap = dir / "snapshot"
        with console.status("synthesising"):
            summary = synth(snap, accounts=accounts, seed=seed, force=True)
        console.print(
            f"synthetic snapshot: {snap} ({summary.rows['accounts']:,} accounts; planted "
            + ", ".join(f"{v} {k}" for k, v in summary.truth_counts.items())
            + ")"
        )
        db = dir / "crumbgraph.duckdb"
        for f in (db, db.with_name(db.name + ".wal")):
            f.unlink(missing_ok=True)  # the demo's own store: start fresh
        settings = cli_settings(ctx).model_copy(update={"state_dir": dir / "state"})  # the demo's own
        _detect(settings, f"embedded:{db}", dir / "runs", None, dir / "results.json", quiet, snapshot_dir=snap)

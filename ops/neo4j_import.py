"""Bulk import of a snapshot into the managed Neo4j's database with `neo4j-admin database import
full`: validate and normalise as usual (ingest.pipeline into graph.neo4j_import's files), stop
the server, run the import tool from the same jars, start the server, create the constraints.

For a fresh (empty) database: the tool replaces the database wholesale, so `bulk_import` refuses
a database that holds nodes unless told to overwrite it.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from graph.errors import ConfigError, StoreError
from graph.model import NodeKind, RelType
from graph.neo4j_import import ImportPlan, Neo4jImportFiles
from graph.progress import Progress, no_progress
from ops.neo4j_server import ADMIN_TOOL, ServerConfig, read_pid, start, stop

if TYPE_CHECKING:
    from ingest.report import IngestReport

logger = logging.getLogger(__name__)

#: memory the import tool may use outside its heap (caches, id mapping); its default is 90 % of RAM
IMPORT_OFF_HEAP = "2g"


@dataclass
class BulkResult:
    """What a bulk import did: the ingest report (counts, quarantine, digest), the nodes and
    relationships the database holds afterwards, and seconds per step."""

    report: IngestReport
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_relationships(self) -> int:
        return sum(self.relationships.values())


def import_command(
    cfg: ServerConfig, plan: ImportPlan, *, database: str = "neo4j", threads: int | None = None
) -> list[str]:
    """The `neo4j-admin database import full` command line for `plan` (nothing may be bad:
    `--bad-tolerance=0`, strict endpoint lookups)."""
    cmd = [
        cfg.java,
        f"-Xmx{cfg.heap}",
        "-cp",
        f"{cfg.lib_dir}/*",
        ADMIN_TOOL,
        "database",
        "import",
        "full",
        database,
        "--overwrite-destination=true",
        "--bad-tolerance=0",
        "--strict=true",
        "--skip-bad-relationships=false",
        "--skip-duplicate-nodes=false",
        f"--max-off-heap-memory={IMPORT_OFF_HEAP}",
        f"--report-file={plan.folder / 'import.report'}",
    ]
    if threads:
        cmd.append(f"--threads={threads}")
    return cmd + plan.args()


def run_import_tool(
    cfg: ServerConfig, plan: ImportPlan, *, database: str = "neo4j", threads: int | None = None
) -> float:
    """Run the import tool on `plan` (the server must be stopped); StoreError with the tool's
    output and report when it fails. Returns the CPU seconds the tool used."""
    if read_pid(cfg) is not None:
        raise StoreError(f"Neo4j in {cfg.home} is running; stop it before neo4j-admin import")
    env = {**os.environ, "NEO4J_HOME": str(cfg.home), "NEO4J_CONF": str(cfg.conf_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        import_command(cfg, plan, database=database, threads=threads),
        env=env,
        cwd=plan.folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        report = plan.folder / "import.report"
        bad = report.read_text(errors="replace")[-2000:] if report.exists() else ""
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise StoreError(f"neo4j-admin database import failed (exit {proc.returncode}):\n{tail}\n{bad}".rstrip())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    logger.info("neo4j-admin import: %s", " ".join(proc.stdout.strip().splitlines()[-3:]))
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _database_is_empty(cfg: ServerConfig, database: str) -> bool:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(cfg.uri, auth=(cfg.user, cfg.password)) as driver:
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) > 0 AS any LIMIT 1", database_=database)
    return not records[0]["any"]


def bulk_import(
    snapshot_dir: Path,
    cfg: ServerConfig,
    *,
    database: str = "neo4j",
    overwrite: bool = False,
    quarantine_dir: Path | None = None,
    progress: Progress | None = None,
    batch_rows: int = 250_000,
    threads: int | None = None,
) -> BulkResult:
    """Ingest `snapshot_dir` into the database of the managed Neo4j in `cfg.home` with the
    import tool, and leave the server running with the constraints in place.

    Raises ConfigError when the database holds nodes and `overwrite` is False (checked before
    anything is read), IngestError for a snapshot that cannot be ingested (nothing is touched),
    StoreError when the tool fails (the server is started again; the database may then be
    missing or partly written: run again with `overwrite`)."""
    from graph.neo4j_store import Neo4jStore
    from ingest.pipeline import load_snapshot

    progress = progress or no_progress
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    start(cfg)  # a fresh home gets its password and system database here
    if not overwrite and not _database_is_empty(cfg, database):
        raise ConfigError(
            f"bulk import replaces the whole database {database!r} of {cfg.home}, which holds nodes; "
            f"pass overwrite to replace it, or ingest over Bolt"
        )
    folder = cfg.home / "import" / f"crumbgraph-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        files = Neo4jImportFiles(folder)
        report = load_snapshot(
            snapshot_dir, files, quarantine_dir=quarantine_dir, progress=progress, batch_rows=batch_rows
        )
        plan = files.finish()
        seconds["validate and write import files"] = time.perf_counter() - t0
        t = time.perf_counter()
        progress("neo4j-admin import", 0, 1)
        stop(cfg)
        seconds["stop server"] = time.perf_counter() - t
        t = time.perf_counter()
        try:
            seconds["neo4j-admin import (CPU)"] = run_import_tool(cfg, plan, database=database, threads=threads)
        finally:
            seconds["neo4j-admin import"] = time.perf_counter() - t
            t = time.perf_counter()
            start(cfg)
            seconds["start server"] = time.perf_counter() - t
        progress("neo4j-admin import", 1, 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    store = Neo4jStore(cfg.uri, user=cfg.user, password=cfg.password, database=database)
    try:
        store.ensure_schema()
        store.await_indexes()
        counts = store.counts()
    finally:
        store.close()
    seconds["constraints"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    _check_counts(plan, counts)
    report.store = cfg.uri
    report.phases.update({f"bulk: {k}": round(v, 3) for k, v in seconds.items()})
    if report.quarantine_file:
        report.save(Path(report.quarantine_file).parent)
    nodes = {k.label: counts[k.label] for k in NodeKind}
    rels = {t.value: counts[t.value] for t in RelType}
    logger.info(
        "bulk import of %s: %d nodes, %d relationships in %.1f s",
        snapshot_dir,
        sum(nodes.values()),
        sum(rels.values()),
        seconds["total"],
    )
    return BulkResult(report=report, nodes=nodes, relationships=rels, seconds=seconds)


def _check_counts(plan: ImportPlan, counts: dict[str, int]) -> None:
    """Every row of the files is in the database (the tool refuses bad rows, so a difference is
    a bug worth stopping for)."""
    expected = {**plan.node_counts, **plan.rel_counts}
    wrong = {k: (v, counts.get(k, 0)) for k, v in expected.items() if counts.get(k, 0) != v}
    if wrong:
        raise StoreError(f"bulk import: the database holds other counts than the import files: {wrong}")

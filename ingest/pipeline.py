"""Ingest a snapshot directory into a GraphStore: read -> validate -> stage -> deduplicate ->
write, with a quarantine file, a report and the snapshot digest.

Two phases. (1) Every table is read in batches, validated, normalised and staged to a
temporary Arrow file; rejected rows go to the quarantine. Nothing is written to the store
until every table has passed, so a broken file stops the ingest before any of it lands.
(2) Staged rows are deduplicated in DuckDB (last row wins), digested in key order and
written through idempotent upserts: nodes, then bare endpoints, then edges. A run killed
at any point and run again therefore ends with the same graph as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from graph.errors import IngestError
from graph.model import NodeKind
from graph.progress import Progress, Stage, no_progress
from graph.store import GraphStore
from ingest.digest import TableDigest, snapshot_digest
from ingest.guard import ReaderLimits, ReaderReject
from ingest.readers import TABLES, SnapshotFile, discover, iter_batches, read_header
from ingest.report import QUARANTINE_FILE, IngestReport, TableReport
from ingest.staged import NODE_TABLES, StagedSnapshot
from ingest.validate import DIGEST_COLUMNS, KEYS, MAX_FIELD_CHARS, STAGED, Rejected, resolve_columns, validate_batch

logger = logging.getLogger(__name__)

#: longest `value` copied into a quarantine record (the full row is in `data`)
QUARANTINE_VALUE_CHARS = 256

#: memory the staging database may use before it spills to disk
STAGING_MEMORY = "1GB"


def default_quarantine_dir(snapshot_dir: Path) -> Path:
    """Beside the snapshot, never inside it: `<snapshot>.ingest/`."""
    snap = Path(snapshot_dir).resolve()
    return snap.parent / f"{snap.name}.ingest"


def load_snapshot(
    snapshot_dir: Path,
    store: GraphStore,
    *,
    quarantine_dir: Path | None = None,
    progress: Progress | None = None,
    batch_rows: int = 250_000,
    max_field_chars: int = MAX_FIELD_CHARS,
    limits: ReaderLimits | None = None,
) -> IngestReport:
    """Validate the snapshot in `snapshot_dir` and write it into `store`.

    Reports `progress("read <table>", rows, rows in the files or None)` while staging each table,
    then `progress("write", rows, rows in all)` (`"digest"` without a store).

    Returns the report, also saved as `ingest-report.json` in `quarantine_dir` (default
    `<snapshot>.ingest/` beside the snapshot) next to `quarantine.jsonl`. Raises IngestError
    (after saving the report, before writing anything) when a table cannot be ingested: a
    missing required column, an unreadable file, or no table file at all.
    """
    return _Ingest(Path(snapshot_dir), store, quarantine_dir, progress, batch_rows, max_field_chars, limits).run()


def read_snapshot(
    snapshot_dir: Path,
    *,
    quarantine_dir: Path | None = None,
    progress: Progress | None = None,
    batch_rows: int = 250_000,
    max_field_chars: int = MAX_FIELD_CHARS,
    limits: ReaderLimits | None = None,
) -> IngestReport:
    """Validate, normalise and digest a snapshot without a store (same report, same digest;
    the `bare_created` and url/hashtag node counts stay empty)."""
    return _Ingest(Path(snapshot_dir), None, quarantine_dir, progress, batch_rows, max_field_chars, limits).run()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Ingest:
    def __init__(
        self,
        snapshot_dir: Path,
        store: GraphStore | None,
        quarantine_dir: Path | None,
        progress: Progress | None,
        batch_rows: int,
        max_field_chars: int,
        limits: ReaderLimits | None = None,
    ) -> None:
        if batch_rows < 1:
            raise IngestError(f"batch_rows must be at least 1, got {batch_rows}")
        self.snapshot_dir = snapshot_dir
        self.store = store
        self.qdir = Path(quarantine_dir) if quarantine_dir is not None else default_quarantine_dir(snapshot_dir)
        self.batch_rows = batch_rows
        self.max_field_chars = max_field_chars
        self.limits = limits or ReaderLimits()
        self.progress = progress or no_progress
        self.report = IngestReport(
            snapshot=str(snapshot_dir),
            store=store.url if store is not None else None,
            tables={t: TableReport() for t in TABLES},
        )
        self.con: duckdb.DuckDBPyConnection | None = None
        self.failures: list[IngestError] = []
        self.staged: dict[str, Path] = {}

    # -- orchestration ---------------------------------------------------------------------
    def run(self) -> IngestReport:
        t0 = time.perf_counter()
        rep = self.report
        rep.started_at = _now()
        self.qdir.mkdir(parents=True, exist_ok=True)
        staging = self._staging_dir()
        rep.quarantine_file = str(self.qdir / QUARANTINE_FILE)
        try:
            self._stage(staging)
            rep.phases["stage"] = round(time.perf_counter() - t0, 3)
            self._raise_failures()
            t1 = time.perf_counter()
            self._finalise()
            t2 = time.perf_counter()
            rep.phases["dedup"] = round(t2 - t1, 3)
            self._write()
            rep.phases["write" if self.store is not None else "digest"] = round(time.perf_counter() - t2, 3)
            rep.status = "ok"
        except IngestError as exc:
            rep.status = "failed"
            if str(exc) not in rep.errors and not any(str(exc).startswith(e) for e in rep.errors):
                rep.errors.append(str(exc))
            logger.info("ingest of %s failed: %s", self.snapshot_dir, exc)
            raise
        finally:
            if self.con is not None:
                self.con.close()
            shutil.rmtree(staging, ignore_errors=True)
            rep.finished_at = _now()
            rep.seconds = round(time.perf_counter() - t0, 3)
            rep.save(self.qdir)
        logger.info(
            "ingest of %s: %d rows read, %d rejected, %d written in %.1f s (digest %s)",
            self.snapshot_dir,
            rep.rows_read,
            rep.rejected,
            sum(t.written for t in rep.tables.values()),
            rep.seconds,
            rep.digest,
        )
        return rep

    def _stage(self, staging: Path) -> None:
        """Phase 1 over every file; the quarantine file appears complete or not at all."""
        qpath = self.qdir / QUARANTINE_FILE
        with open(qpath.with_suffix(".jsonl.tmp"), "w", encoding="utf-8") as quarantine:
            self.con = self._connect(staging)
            found = discover(self.snapshot_dir)
            self.report.ignored_files = [{"file": f.name, "reason": f.reason} for f in found.ignored]
            self._stage_all(found.files, quarantine, staging)
        os.replace(qpath.with_suffix(".jsonl.tmp"), qpath)

    def _raise_failures(self) -> None:
        """Stop before writing anything when a table could not be staged (the first error, with
        how many more there were)."""
        if not self.failures:
            return
        first = self.failures[0]
        if len(self.failures) > 1:
            raise IngestError(
                f"{first} (and {len(self.failures) - 1} more error(s), see {self.qdir})",
                file=first.file,
                row=first.row,
                field=first.field,
                value=first.value,
            )
        raise first

    def _staging_dir(self) -> Path:
        """A private staging folder in the quarantine dir; folders left by killed runs are removed."""
        for old in self.qdir.glob(".staging-*"):
            try:
                pid = int(old.name.split("-", 1)[1])
            except ValueError:
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(old, ignore_errors=True)
        path = self.qdir / f".staging-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        return path

    @staticmethod
    def _connect(staging: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET temp_directory = {_sql_path(staging / 'tmp')}")
        con.execute(f"SET memory_limit = '{STAGING_MEMORY}'")
        con.execute("SET preserve_insertion_order = false")  # order comes from ORDER BY only; saves memory
        con.execute("SET enable_progress_bar = false")
        return con

    # -- phase 1: read, validate, stage ----------------------------------------------------
    def _stage_all(self, files: dict[str, list[SnapshotFile]], quarantine: IO[str], staging: Path) -> None:
        rep = self.report
        if not any(files.values()):
            exc = IngestError(
                f"{self.snapshot_dir}: no table files found (expected {', '.join(TABLES)} as .csv, .parquet or .jsonl)",
                file=str(self.snapshot_dir),
            )
            rep.errors.append(str(exc))
            self.failures.append(exc)
            return
        for table in TABLES:
            tr = rep.tables[table]
            tr.files = [f.name for f in files[table]]
            path = staging / f"stage_{table}.arrow"
            self.staged[table] = path
            stage = Stage(self.progress, f"read {table}", _known_rows(files[table])) if files[table] else None
            schema = STAGED[table].append(pa.field("__cg_seq", pa.int64()))
            # Arrow IPC, not Parquet: ~10x cheaper to write, and DuckDB scans it as fast
            with pa.ipc.new_file(path, schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
                try:
                    seq = 0
                    for f in files[table]:
                        seq = self._stage_file(f, writer, quarantine, seq, stage)
                except IngestError as exc:
                    rep.errors.append(str(exc))
                    self.failures.append(exc)
            if stage is not None:
                stage.finish(tr.rows_read)
            logger.info(
                "read %s: %d file(s), %d rows, %d accepted, %d rejected",
                table,
                len(tr.files),
                tr.rows_read,
                tr.accepted,
                tr.rejected,
            )

    def _stage_file(
        self, f: SnapshotFile, writer: pa.ipc.RecordBatchFileWriter, quarantine: IO[str], seq: int, stage: Stage | None
    ) -> int:
        tr = self.report.tables[f.table]
        if f.size == 0:
            self.report.warnings.append(f"{f.name}: empty file (no header, no rows)")
            return seq
        header = read_header(f, self.limits)
        mapping = resolve_columns(f.table, header, f.name) if header is not None else None
        seen: set[str] = set()
        unread: list[ReaderReject] = []  # rows the reader could not decode: quarantined as they come
        for batch, rows in iter_batches(f, self.batch_rows, limits=self.limits, rejects=unread):
            self._quarantine_unread(quarantine, f, unread)
            if mapping is None:  # JSON Lines (no header): columns are per row
                seen.update(batch.column_names)
                batch_map = resolve_columns(f.table, batch.column_names, f.name, complete=False)
            else:
                batch_map = mapping
            accepted, rejected = validate_batch(
                f.table, batch, batch_map, max_field_chars=self.max_field_chars, con=self._db
            )
            n = batch.num_rows
            pos = accepted.column("__cg_pos")
            writer.write_table(accepted.drop_columns(["__cg_pos"]).append_column("__cg_seq", pc.add(pos, seq)))
            seq += n
            tr.rows_read += n
            tr.rejected += len(rejected.positions)
            tr.accepted += n - len(rejected.positions)
            if rejected.positions:
                self._quarantine(quarantine, f, batch, rows, batch_map, rejected)
            if stage is not None:
                stage.advance(n)
        self._quarantine_unread(quarantine, f, unread)
        if header is None and seen:
            resolve_columns(f.table, sorted(seen), f.name)  # a required key that no row has
        return seq

    def _quarantine(
        self,
        out: IO[str],
        f: SnapshotFile,
        batch: pa.Table,
        rows: pa.Array,
        mapping: dict[str, str],
        rejected: Rejected,
    ) -> None:
        tr = self.report.tables[f.table]
        idx = pa.array(rejected.positions, pa.int64())
        data = batch.take(idx).to_pylist()
        row_numbers = rows.take(idx).to_pylist()
        for record, row, check in zip(data, row_numbers, rejected.checks, strict=True):
            record = {k: v for k, v in record.items() if not k.startswith("__cg_")}
            value = record.get(mapping.get(check.field, check.field))
            if isinstance(value, str) and len(value) > QUARANTINE_VALUE_CHARS:
                value = value[:QUARANTINE_VALUE_CHARS] + "…"
            out.write(
                json.dumps(
                    {
                        "table": f.table,
                        "file": f.name,
                        "row": row,
                        "field": check.field,
                        "rule": check.rule,
                        "reason": f"{check.field}: {check.reason}",
                        "value": value,
                        "data": record,
                    },
                    ensure_ascii=False,
                    sort_keys=True,
                )
                + "\n"
            )
            tr.rejected_by_rule[check.rule] = tr.rejected_by_rule.get(check.rule, 0) + 1

    def _quarantine_unread(self, out: IO[str], f: SnapshotFile, unread: list[ReaderReject]) -> None:
        """Reader-level rejects (not UTF-8, line too long, not a JSON object) into the quarantine,
        counted as read and rejected by their rule; empties `unread`."""
        tr = self.report.tables[f.table]
        for r in unread:
            entry = {
                "table": f.table,
                "file": f.name,
                "row": r.row,
                "field": r.field,
                "rule": r.rule,
                "reason": r.reason,
                "value": r.value,
                "data": r.data,
            }
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            tr.rows_read += 1
            tr.rejected += 1
            tr.rejected_by_rule[r.rule] = tr.rejected_by_rule.get(r.rule, 0) + 1
        unread.clear()

    # -- phase 2: deduplicate, find bare endpoints -----------------------------------------
    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        """The staging database (open from phase 1 on)."""
        if self.con is None:  # pragma: no cover - a programming error in the phase order
            raise AssertionError("staging database used before phase 1 opened it")
        return self.con

    def _finalise(self) -> None:
        con = self._db
        for table in TABLES:
            cols = ", ".join(sql_ident(c) for c in STAGED[table].names)
            key = ", ".join(KEYS[table])
            con.register("stage", ds.dataset(self.staged[table], format="ipc"))
            src = "stage"
            # final_<table>: one row per key, the last. Only repeated keys need the join.
            con.execute(f"""CREATE OR REPLACE TABLE dups AS SELECT {key}, max(__cg_seq) AS __cg_keep
                            FROM {src} GROUP BY ALL HAVING count(*) > 1""")
            if con.execute("SELECT count(*) FROM dups").fetchall()[0][0] == 0:
                con.execute(f"CREATE OR REPLACE TABLE final_{table} AS SELECT {cols} FROM {src}")
            else:
                same = " AND ".join(f"d.{k} = s.{k}" for k in KEYS[table])
                scols = ", ".join(f"s.{sql_ident(c)}" for c in STAGED[table].names)
                con.execute(f"""CREATE OR REPLACE TABLE final_{table} AS SELECT {scols} FROM {src} s
                                LEFT JOIN dups d ON {same}
                                WHERE d.__cg_keep IS NULL OR d.__cg_keep = s.__cg_seq""")
            con.unregister("stage")
            self.staged[table].unlink()
            tr = self.report.tables[table]
            tr.written = con.execute(f"SELECT count(*) FROM final_{table}").fetchall()[0][0]
            tr.duplicates = tr.accepted - tr.written
            logger.info("dedup %s: %d rows, %d duplicates", table, tr.written, tr.duplicates)
        con.execute("""CREATE OR REPLACE TABLE bare AS
            WITH refs AS (
                SELECT 'content' AS tbl, 'account' AS kind, account_id AS id FROM final_content
                UNION ALL SELECT 'content', 'content', parent_id FROM final_content WHERE parent_id IS NOT NULL
                UNION ALL SELECT 'follows', 'account', follower_id FROM final_follows
                UNION ALL SELECT 'follows', 'account', followee_id FROM final_follows
                UNION ALL SELECT 'links', src_kind, src_id FROM final_links
                UNION ALL SELECT 'links', dst_kind, dst_id FROM final_links WHERE dst_kind IN ('account', 'content')
            ), known AS (
                SELECT 'account' AS kind, account_id AS id FROM final_accounts
                UNION ALL SELECT 'content', content_id FROM final_content
            )
            SELECT DISTINCT r.tbl, r.kind, r.id FROM refs r ANTI JOIN known k ON r.kind = k.kind AND r.id = k.id""")
        for tbl, kind, n in con.execute("SELECT tbl, kind, count(*) FROM bare GROUP BY ALL ORDER BY ALL").fetchall():
            self.report.tables[tbl].bare_endpoints[kind] = n

    # -- phase 3: digest and write ---------------------------------------------------------
    def _write(self) -> None:
        """Digest every table in key order and, with a store, write it: nodes, bare endpoints,
        url and hashtag nodes, the edges derived from content, then follows and links."""
        store, rep = self.store, self.report
        staged = StagedSnapshot(self._db, self.batch_rows)
        digests = {t: TableDigest(t, DIGEST_COLUMNS[t]) for t in TABLES}
        if store is not None:
            store.ensure_schema()
        total = sum(t.written for t in rep.tables.values())
        stage = Stage(self.progress, "write" if store is not None else "digest", total)
        for table, kind in NODE_TABLES.items():
            for batch in staged.rows(table):
                digests[table].update(batch)
                if store is not None:
                    store.upsert_nodes(kind, staged.nodes(table, batch))
                stage.advance(batch.num_rows)
        if store is not None:
            self._write_bare_nodes(store, staged)
            n_url = sum(store.upsert_nodes(NodeKind.URL, t) for t in staged.url_nodes())
            n_tag = sum(store.upsert_nodes(NodeKind.HASHTAG, t) for t in staged.hashtag_nodes())
            rep.nodes = {"url": n_url, "hashtag": n_tag}
            for edges in staged.content_edges():
                store.upsert_edges(edges, endpoints_exist=True)
        for table in ("follows", "links"):
            for batch in staged.rows(table):
                digests[table].update(batch)
                if store is not None:
                    store.upsert_edges(staged.edges(table, batch), endpoints_exist=True)
                stage.advance(batch.num_rows)
        stage.finish(total)
        for table in TABLES:
            rep.tables[table].digest = digests[table].hexdigest()
        rep.digest = snapshot_digest({t: digests[t].hexdigest() for t in TABLES})

    def _write_bare_nodes(self, store: GraphStore, staged: StagedSnapshot) -> None:
        """Bare endpoints, table by table, so that each table's count says what it created."""
        rep = self.report
        for table in ("content", "follows", "links"):
            for kind in (NodeKind.ACCOUNT, NodeKind.CONTENT):
                created = sum(store.ensure_nodes(kind, ids) for ids in staged.bare_ids(table, kind))
                if rep.tables[table].bare_endpoints.get(kind.value):
                    rep.tables[table].bare_created[kind.value] = created


def _known_rows(files: list[SnapshotFile]) -> int | None:
    """Rows in these files if every one is Parquet (from its footer), else None."""
    if not all(f.fmt == "parquet" for f in files):
        return None
    try:
        return sum(int(pq.ParquetFile(f.path).metadata.num_rows) for f in files)
    except (pa.ArrowInvalid, OSError):
        return None


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"

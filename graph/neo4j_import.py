"""Neo4jImportFiles: a write-only GraphStore that writes the CSV files of `neo4j-admin database
import full` (a header file and a data file per node kind and per relationship group), so that a
fresh Neo4j database is loaded at the import tool's pace instead of over Bolt (ops/neo4j_import.py
runs the tool). The ingest pipeline writes into it exactly as into any store: the same validated,
normalised, deduplicated rows, the same report counts.

What is written is what Neo4jStore would hold: labels and types from NodeKind/RelType, the key as
an `:ID(<kind>)` column (one id space per node kind, stored as the key property), timestamps as
epoch microseconds (`:long`), nulls as empty fields (no property) and empty strings as `""`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graph.errors import StoreError
from graph.model import NODE_SCHEMAS, NodeKind, RelType
from graph.store import GraphStore

logger = logging.getLogger(__name__)

#: CSV type of a column in a header file (strings need none)
_CSV_TYPE = {pa.int64(): "long", pa.bool_(): "boolean", pa.float64(): "double"}
_EDGE_PROPS = ("kind", "created_at", "props")
_WRITE = pacsv.WriteOptions(include_header=False, quoting_style="needed")


@dataclass
class ImportPlan:
    """The files of one import: `--nodes=<label>=<header>,<data>` and
    `--relationships=<type>=<header>,<data>` groups, and what they hold."""

    folder: Path
    nodes: list[tuple[str, Path, Path]] = field(default_factory=list)
    relationships: list[tuple[str, Path, Path]] = field(default_factory=list)
    node_counts: dict[str, int] = field(default_factory=dict)  # by label
    rel_counts: dict[str, int] = field(default_factory=dict)  # by type
    multiline: bool = False  # some field holds a line break (the tool must be told: slower parse)

    def args(self) -> list[str]:
        """The `--nodes`/`--relationships` (and `--multiline-fields`) arguments of the tool."""
        out = [f"--nodes={label}={header},{data}" for label, header, data in self.nodes]
        out += [f"--relationships={rel}={header},{data}" for rel, header, data in self.relationships]
        if self.multiline:
            out.append("--multiline-fields=true")
        return out


def _micros(table: pa.Table) -> pa.Table:
    """Timestamp columns as int64 epoch microseconds (what Neo4jStore stores)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), pa.int64()))
    return table


def _has_line_break(table: pa.Table) -> bool:
    for col in table.columns:
        is_text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        if is_text and pc.any(pc.match_substring_regex(col, r"[\r\n]")).as_py():
            return True
    return False


class _CsvFile:
    """One data file (no header: the tool reads the header from its own file)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.rows = 0
        self._writer = pacsv.CSVWriter(path, schema, write_options=_WRITE)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


class Neo4jImportFiles(GraphStore):
    """Writes neo4j-admin import files into `folder`; `finish()` closes them and returns the plan.

    For a fresh database only, and for input with one row per identity across calls (what
    ingest.pipeline hands over: deduplicated tables, bare endpoints anti-joined with the full
    nodes). A repeated node key reaches the tool, which refuses it (the import fails, nothing is
    half-loaded); repeated bare ids are dropped here, as `ensure_nodes` promises. Reads raise.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.url = f"neo4j-import:{self.folder}"
        self._files: dict[str, _CsvFile] = {}
        self._plan = ImportPlan(self.folder)
        self._bare: dict[NodeKind, set[str]] = {k: set() for k in NodeKind}
        self._finished = False

    # -- files -----------------------------------------------------------------------
    def _file(self, name: str, header: str, schema: pa.Schema, group: tuple[str, str]) -> _CsvFile:
        """The data file `name` (created with its header file and plan entry on first use)."""
        if self._finished:
            raise StoreError(f"{self.url}: the import files are closed (finish() was called)")
        if name not in self._files:
            head = self.folder / f"{name}.header.csv"
            head.write_text(header + "\n", encoding="utf-8")
            self._files[name] = _CsvFile(self.folder / f"{name}.csv", schema)
            kind, label = group
            (self._plan.nodes if kind == "nodes" else self._plan.relationships).append(
                (label, head, self._files[name].path)
            )
        return self._files[name]

    def _write(self, file: _CsvFile, table: pa.Table) -> None:
        if not self._plan.multiline and _has_line_break(table):
            self._plan.multiline = True
        file.write(table)

    def finish(self) -> ImportPlan:
        """Close every file; the plan lists them with their row counts (by label and type)."""
        if not self._finished:
            for f in self._files.values():
                f.close()
            self._finished = True
            for label, _, data in self._plan.nodes:
                n = self._files[data.name.removesuffix(".csv")].rows
                self._plan.node_counts[label] = self._plan.node_counts.get(label, 0) + n
            for rel, _, data in self._plan.relationships:
                n = self._files[data.name.removesuffix(".csv")].rows
                self._plan.rel_counts[rel] = self._plan.rel_counts.get(rel, 0) + n
        return self._plan

    def close(self) -> None:
        self.finish()

    def ensure_schema(self) -> None:
        """Nothing to do: constraints are created on the server after the import."""

    # -- writes ----------------------------------------------------------------------
    def _upsert_nodes(self, kind: NodeKind, table: pa.Table) -> int:
        table = _micros(table)
        header = ",".join(_header_field(f, kind) for f in table.schema)
        self._write(self._file(f"nodes-{kind.value}", header, table.schema, ("nodes", kind.label)), table)
        return int(table.num_rows)

    def _ensure_nodes(self, kind: NodeKind, ids: pa.Array) -> int:
        seen = self._bare[kind]
        new = [i for i in ids.to_pylist() if i not in seen]
        seen.update(new)
        if not new:
            return 0
        table = pa.table({kind.key: pa.array(new, pa.string())})
        header = f"{kind.key}:ID({kind.value})"
        if "bare" in NODE_SCHEMAS[kind].names:
            table = table.append_column("bare", pa.repeat(pa.scalar(True), len(new)))
            header += ",bare:boolean"
        self._write(self._file(f"nodes-{kind.value}-bare", header, table.schema, ("nodes", kind.label)), table)
        return len(new)

    def _upsert_edges(self, table: pa.Table) -> int:
        table = _micros(table)
        groups = table.group_by(["src_kind", "type", "dst_kind"], use_threads=False).aggregate([]).to_pylist()
        for g in sorted(groups, key=lambda g: (g["src_kind"], g["type"], g["dst_kind"])):
            src, rel, dst = NodeKind(g["src_kind"]), RelType(g["type"]), NodeKind(g["dst_kind"])
            mask = pc.and_(
                pc.and_(pc.equal(table["src_kind"], src.value), pc.equal(table["type"], rel.value)),
                pc.equal(table["dst_kind"], dst.value),
            )
            part = table.filter(mask).select(["src_id", "dst_id", *_EDGE_PROPS])
            header = f":START_ID({src.value}),:END_ID({dst.value}),kind,created_at:long,props"
            name = f"rels-{src.value}-{rel.value}-{dst.value}"
            self._write(self._file(name, header, part.schema, ("relationships", rel.value)), part)
        return int(table.num_rows)

    # -- reads: none until the tool has loaded the files -------------------------------
    def _unreadable(self) -> StoreError:
        return StoreError(f"{self.url}: import files cannot be read; read the database after the import")

    def counts(self) -> dict[str, int]:
        raise self._unreadable()

    def node_table(self, kind: NodeKind) -> pa.Table:
        raise self._unreadable()

    def _edge_table(
        self, types: list[str] | None, since: datetime | None, until: datetime | None, *, ordered: bool = True
    ) -> pa.Table:
        raise self._unreadable()

    def _nodes(self, kind: NodeKind, ids: list[str]) -> pa.Table:
        raise self._unreadable()

    def _adjacent(
        self, frontier: list[tuple[str, str]], seen: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        raise self._unreadable()

    def _edges_among(self, nodes: list[tuple[str, str]]) -> pa.Table:
        raise self._unreadable()

    def _save_run(self, run_id: str, record_json: str, results: bytes | None) -> None:
        raise self._unreadable()

    def _get_run(self, run_id: str) -> str | None:
        raise self._unreadable()

    def _get_results(self, run_id: str) -> tuple[bool, bytes | None]:
        raise self._unreadable()

    def _list_runs(self) -> list[str]:
        raise self._unreadable()


def _header_field(f: pa.Field, kind: NodeKind) -> str:
    """`name:ID(kind)` for the key, `name:type` for typed columns, `name` for strings."""
    if f.name == kind.key:
        return f"{f.name}:ID({kind.value})"
    typ = _CSV_TYPE.get(f.type)
    if typ is None and not pa.types.is_string(f.type):
        raise StoreError(f"{kind} nodes: column {f.name!r} of type {f.type} has no import type")
    return f"{f.name}:{typ}" if typ else f.name

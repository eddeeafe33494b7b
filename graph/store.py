"""The GraphStore interface both backends implement, and `open_store` that picks one by URL.

Public methods validate and canonicalise their input, then delegate to the backend's
`_`-prefixed method, so the two backends cannot drift apart in what they accept.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph.errors import ConfigError, StoreError
from graph.model import EDGE_KEY, EDGE_SCHEMA, NODE_SCHEMAS, NodeKind, RelType


@dataclass(frozen=True)
class StoreConfig:
    """Everything a backend needs to open; built from Settings at the edge."""

    url: str
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    batch_size: int = 10_000


def _canonical(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Select and cast `table` to `schema` (missing nullable columns become null)."""
    cols = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            try:
                cols.append(col.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise StoreError(f"{what}: column {field.name!r} cannot be cast to {field.type}: {exc}") from exc
        else:
            cols.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _keep_last(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """Drop all but the last row of each key (the spec's 'last row wins')."""
    if table.num_rows == 0:
        return table
    idx = pa.array(range(table.num_rows), pa.int64())
    grouped = table.select(list(key)).append_column("__i", idx).group_by(list(key), use_threads=False).aggregate([("__i", "max")])
    keep = pc.sort_indices(grouped.column("__i_max"))
    return table.take(pc.take(grouped.column("__i_max"), keep))


class GraphStore(abc.ABC):
    """One graph, two backends (Neo4jStore, EmbeddedStore) with identical behaviour.

    Contract (tested by tests/contract over every backend):
    - Upserts are idempotent: writing the same rows again changes nothing; a row whose
      identity exists replaces its properties (last write wins). Within one call the
      last row of each identity wins.
    - `ensure_nodes` creates bare nodes only where none exists and never overwrites.
    - Reads return Arrow tables in the schemas of graph.model, sorted by identity, so
      that the same graph gives byte-identical projections from either backend.
    - Raises StoreUnavailable when the backend cannot be reached, NotFound for a missing
      node or run, StoreError otherwise.
    """

    url: str

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create constraints/tables if missing. Safe to call any number of times."""

    # -- writes ----------------------------------------------------------------------
    def upsert_nodes(self, kind: NodeKind, rows: pa.Table) -> int:
        """Insert or replace full nodes of `kind` (schema NODE_SCHEMAS[kind]); returns rows written."""
        kind = NodeKind(kind)
        table = _keep_last(_canonical(rows, NODE_SCHEMAS[kind], f"{kind} nodes"), [kind.key])
        if table.num_rows and table.column(kind.key).null_count:
            raise StoreError(f"{kind} nodes: {kind.key} must not be null")
        if "bare" in table.column_names:
            table = table.set_column(table.schema.get_field_index("bare"), "bare",
                                     pc.fill_null(table.column("bare"), False))
        return self._upsert_nodes(kind, table) if table.num_rows else 0

    def ensure_nodes(self, kind: NodeKind, ids: Iterable[str]) -> int:
        """Create bare nodes for ids that do not exist yet; returns how many were created."""
        kind = NodeKind(kind)
        uniq = sorted({str(i) for i in ids if i is not None and str(i) != ""})
        return self._ensure_nodes(kind, uniq) if uniq else 0

    def upsert_edges(self, rows: pa.Table) -> int:
        """Insert or replace relationships (schema EDGE_SCHEMA); endpoints must already exist."""
        table = _keep_last(_canonical(rows, EDGE_SCHEMA, "edges"), EDGE_KEY)
        for col in EDGE_KEY:
            if table.num_rows and table.column(col).null_count:
                raise StoreError(f"edges: {col} must not be null")
        if table.num_rows:
            bad = set(pc.unique(table.column("type")).to_pylist()) - {t.value for t in RelType}
            if bad:
                raise StoreError(f"edges: unknown relationship type(s) {sorted(bad)}")
        return self._upsert_edges(table) if table.num_rows else 0

    @abc.abstractmethod
    def _upsert_nodes(self, kind: NodeKind, table: pa.Table) -> int: ...

    @abc.abstractmethod
    def _ensure_nodes(self, kind: NodeKind, ids: list[str]) -> int: ...

    @abc.abstractmethod
    def _upsert_edges(self, table: pa.Table) -> int: ...

    # -- reads -----------------------------------------------------------------------
    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Node count per label (`Account`, ...) and edge count per type (`FOLLOWS`, ...), zeros included."""

    @abc.abstractmethod
    def node_table(self, kind: NodeKind) -> pa.Table:
        """All nodes of `kind` in NODE_SCHEMAS[kind], sorted by key."""

    def edge_table(self, types: Iterable[RelType] | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> pa.Table:
        """Edges (EDGE_SCHEMA) sorted by EDGE_KEY, optionally only some types and a
        created_at window [since, until) (edges without a timestamp are kept)."""
        wanted = None if types is None else sorted({RelType(t).value for t in types})
        if since is not None and until is not None and since >= until:
            raise StoreError(f"edge_table: since {since} is not before until {until}")
        return self._edge_table(wanted, since, until)

    @abc.abstractmethod
    def _edge_table(self, types: list[str] | None, since: datetime | None, until: datetime | None) -> pa.Table: ...

    @abc.abstractmethod
    def get_node(self, kind: NodeKind, node_id: str) -> dict[str, Any]:
        """One node's properties as a dict (props JSON expanded under 'props'); NotFound if absent."""

    @abc.abstractmethod
    def neighbourhood(self, kind: NodeKind, node_id: str, hops: int = 1, limit: int = 500) -> dict[str, Any]:
        """Nodes and edges within `hops` (either direction) of a node, at most `limit` nodes:
        {"nodes": [{"kind","id",...}], "edges": [{"src_kind","src_id","type","kind","dst_kind","dst_id"}],
         "truncated": bool}; sorted, so the answer is deterministic."""

    # -- run records -----------------------------------------------------------------
    @abc.abstractmethod
    def save_run(self, run_id: str, record: dict[str, Any], results: bytes | None = None) -> None:
        """Store (or replace) a run record and optionally its results.json bytes."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run record; NotFound if absent."""

    @abc.abstractmethod
    def get_results(self, run_id: str) -> bytes:
        """The exact results.json bytes of a run; NotFound if absent."""

    @abc.abstractmethod
    def list_runs(self) -> list[dict[str, Any]]:
        """All run records, newest first (by record['started_at'], then run_id)."""


def open_store(config: StoreConfig) -> GraphStore:
    """Open the store named by `config.url`: `embedded:PATH`, `neo4j://…` or `bolt://…`."""
    url = config.url
    if url.startswith("embedded:"):
        from graph.embedded import EmbeddedStore

        path = url[len("embedded:"):]
        if not path:
            raise ConfigError("store URL 'embedded:' needs a path, e.g. embedded:./crumbgraph.duckdb")
        return EmbeddedStore(path)
    if url.split("://", 1)[0] in {"neo4j", "bolt", "neo4j+s", "bolt+s", "neo4j+ssc", "bolt+ssc"}:
        from graph.neo4j_store import Neo4jStore

        return Neo4jStore(url, user=config.neo4j_user, password=config.neo4j_password,
                          database=config.neo4j_database, batch_size=config.batch_size)
    raise ConfigError(f"store URL {url!r}: expected embedded:PATH, neo4j://HOST:PORT or bolt://HOST:PORT")

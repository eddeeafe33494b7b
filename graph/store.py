"""The GraphStore interface both backends implement, and `open_store` that picks one by URL.

Public methods validate and canonicalise their input, then delegate to the backend's
`_`-prefixed method, so the two backends cannot drift apart in what they accept.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph.errors import ConfigError, NotFound, StoreError
from graph.model import EDGE_KEY, EDGE_SCHEMA, NODE_SCHEMAS, NodeKind, RelType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreConfig:
    """Everything a backend needs to open; built from Settings at the edge."""

    url: str
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    batch_size: int = 10_000
    neo4j_write_concurrency: int = (
        1  # write transactions in flight at once (Neo4jStore; >1 risks deadlock retries on hubs)
    )


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
    grouped = (
        table.select(list(key))
        .append_column("__i", idx)
        .group_by(list(key), use_threads=False)
        .aggregate([("__i", "max")])
    )
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
        table = self._keep_last(_canonical(rows, NODE_SCHEMAS[kind], f"{kind} nodes"), [kind.key])
        if table.num_rows and table.column(kind.key).null_count:
            raise StoreError(f"{kind} nodes: {kind.key} must not be null")
        if "bare" in table.column_names:
            table = table.set_column(
                table.schema.get_field_index("bare"), "bare", pc.fill_null(table.column("bare"), False)
            )
        written = self._upsert_nodes(kind, table) if table.num_rows else 0
        logger.debug("%s: %d %s nodes upserted", self.url, written, kind.value)
        return written

    def ensure_nodes(self, kind: NodeKind, ids: Iterable[str] | pa.Array | pa.ChunkedArray) -> int:
        """Create bare nodes (`bare` true, every other property null) for ids that do not exist yet;
        never touches existing nodes. Nulls and empty strings are ignored. Returns how many were created.
        Pass a pyarrow array for large id sets (no per-row Python)."""
        kind = NodeKind(kind)
        if isinstance(ids, (pa.Array, pa.ChunkedArray)):
            arr = ids.cast(pa.string())
        else:
            arr = pa.array([None if i is None else str(i) for i in ids], pa.string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arr = pc.unique(arr.filter(pc.fill_null(pc.not_equal(arr, ""), False)))
        if len(arr) == 0:
            return 0
        created = self._ensure_nodes(kind, arr.take(pc.sort_indices(arr)))
        logger.debug("%s: %d bare %s nodes created of %d ids", self.url, created, kind.value, len(arr))
        return created

    def upsert_edges(self, rows: pa.Table, *, endpoints_exist: bool = False) -> int:
        """Insert or replace relationships (schema EDGE_SCHEMA); endpoints must already exist.

        `endpoints_exist=True` is the caller's promise that it has proven every endpoint exists
        (the ingest does, with one anti-join over the whole snapshot in its staging database,
        then writes the nodes first); a backend may then skip its own per-call check."""
        table = self._keep_last(_canonical(rows, EDGE_SCHEMA, "edges"), EDGE_KEY)
        for col in EDGE_KEY:
            if table.num_rows and table.column(col).null_count:
                raise StoreError(f"edges: {col} must not be null")
        if table.num_rows:
            bad = set(pc.unique(table.column("type")).to_pylist()) - {t.value for t in RelType}
            if bad:
                raise StoreError(f"edges: unknown relationship type(s) {sorted(bad)}")
            for col in ("src_kind", "dst_kind"):
                bad = set(pc.unique(table.column(col)).to_pylist()) - {k.value for k in NodeKind}
                if bad:
                    raise StoreError(f"edges: unknown node kind(s) {sorted(bad)} in {col}")
        write = self._upsert_proven_edges if endpoints_exist else self._upsert_edges
        written = write(table) if table.num_rows else 0
        logger.debug("%s: %d edges upserted", self.url, written)
        return written

    def _keep_last(self, table: pa.Table, key: Sequence[str]) -> pa.Table:
        """Drop all but the last row of each key; a backend that does this itself overrides it
        with a no-op (and must then keep the last row of each key itself)."""
        return _keep_last(table, key)

    @abc.abstractmethod
    def _upsert_nodes(self, kind: NodeKind, table: pa.Table) -> int: ...

    @abc.abstractmethod
    def _ensure_nodes(self, kind: NodeKind, ids: pa.Array) -> int: ...

    @abc.abstractmethod
    def _upsert_edges(self, table: pa.Table) -> int: ...

    def _upsert_proven_edges(self, table: pa.Table) -> int:
        """`_upsert_edges` for edges whose endpoints the caller proved to exist; a backend that
        checks endpoints itself may skip that check here."""
        return self._upsert_edges(table)

    # -- reads -----------------------------------------------------------------------
    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Node count per label (`Account`, ...) and edge count per type (`FOLLOWS`, ...), zeros included."""

    @abc.abstractmethod
    def node_table(self, kind: NodeKind) -> pa.Table:
        """All nodes of `kind` in NODE_SCHEMAS[kind], sorted by key."""

    def edge_table(
        self,
        types: Iterable[RelType] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        ordered: bool = True,
    ) -> pa.Table:
        """Edges (EDGE_SCHEMA) sorted by EDGE_KEY, optionally only some types and a
        created_at window [since, until) (edges without a timestamp are kept).
        `ordered=False` returns the same rows in any order (cheaper: no sort on six string
        keys), for callers that canonicalise the order themselves (graph.projection)."""
        wanted = None if types is None else sorted({RelType(t).value for t in types})
        since, until = _utc(since), _utc(until)
        if since is not None and until is not None and since >= until:
            raise StoreError(f"edge_table: since {since} is not before until {until}")
        return self._edge_table(wanted, since, until, ordered=bool(ordered))

    @abc.abstractmethod
    def _edge_table(
        self, types: list[str] | None, since: datetime | None, until: datetime | None, *, ordered: bool = True
    ) -> pa.Table: ...

    def projection_edges(
        self,
        types: Iterable[RelType] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pa.Table:
        """What a projection reads of the edges (graph.projection): the columns src_kind, src_id,
        type, dst_kind, dst_id and created_at of `edge_table(types, since, until)`, in any order
        and possibly more columns. A backend overrides `_projection_edges` where leaving out
        `kind` and `props` saves reading them (Neo4jStore)."""
        wanted = None if types is None else sorted({RelType(t).value for t in types})
        since, until = _utc(since), _utc(until)
        if since is not None and until is not None and since >= until:
            raise StoreError(f"projection_edges: since {since} is not before until {until}")
        if wanted is not None and not wanted:
            return EDGE_SCHEMA.empty_table()
        return self._projection_edges(wanted, since, until)

    def _projection_edges(self, types: list[str] | None, since: datetime | None, until: datetime | None) -> pa.Table:
        return self._edge_table(types, since, until, ordered=False)

    def get_node(self, kind: NodeKind, node_id: str) -> dict[str, Any]:
        """One node's properties as a dict: the columns of NODE_SCHEMAS[kind] (`created_at` a
        UTC datetime), with the props JSON expanded under 'props' (None when absent); NotFound if absent."""
        kind = NodeKind(kind)
        rows = self._nodes(kind, [str(node_id)])
        if rows.num_rows == 0:
            raise NotFound(f"no {kind} node with {kind.key}={node_id!r}")
        return _node_dict(rows.to_pylist()[0])

    def neighbourhood(self, kind: NodeKind, node_id: str, hops: int = 1, limit: int = 500) -> dict[str, Any]:
        """Nodes within `hops` (edges followed in either direction) of a node, at most `limit` nodes,
        and every edge among the returned nodes (the induced subgraph):
        {"nodes": [{"kind","id","distance","properties": get_node(...)}], "edges": [{"src_kind","src_id","type",
         "kind","dst_kind","dst_id"}], "truncated": bool}.
        Nodes are taken hop by hop; within a hop in (kind, id) order, so when `limit` cuts a hop the
        answer is still deterministic. `truncated` is True when nodes within `hops` were left out.
        Nodes are sorted by (distance, kind, id), edges by EDGE_KEY. NotFound if the node is absent."""
        kind = NodeKind(kind)
        if hops < 0 or limit < 1:
            raise StoreError(f"neighbourhood: hops must be >= 0 and limit >= 1 (got hops={hops}, limit={limit})")
        return self._neighbourhood(kind, str(node_id), hops, limit)

    def _neighbourhood(self, kind: NodeKind, node_id: str, hops: int, limit: int) -> dict[str, Any]:
        """The generic neighbourhood over _adjacent/_nodes/_edges_among; a backend with a faster
        path overrides it (and must give the same answer)."""
        self.get_node(kind, node_id)
        distance: dict[tuple[str, str], int] = {(kind.value, str(node_id)): 0}
        frontier = [(kind.value, str(node_id))]
        truncated = False
        for hop in range(1, hops + 1):
            room = limit - len(distance)
            if not frontier:
                break
            if room <= 0:
                truncated = bool(self._adjacent(frontier, sorted(distance), 1))
                break
            found = self._adjacent(frontier, sorted(distance), room + 1)
            if len(found) > room:
                truncated = True
                found = found[:room]
            for node in found:
                distance[node] = hop
            frontier = found
            if truncated:
                break
        nodes = []
        for k in sorted({k for k, _ in distance}):
            ids = sorted(i for kk, i in distance if kk == k)
            for row in self._nodes(NodeKind(k), ids).to_pylist():
                node_key = row[NodeKind(k).key]
                nodes.append(
                    {"kind": k, "id": node_key, "distance": distance[(k, node_key)], "properties": _node_dict(row)}
                )
        nodes.sort(key=lambda n: (n["distance"], n["kind"], n["id"]))
        edges = self._edges_among(sorted(distance))
        return {"nodes": nodes, "edges": edges.select(list(EDGE_KEY)).to_pylist(), "truncated": truncated}

    @abc.abstractmethod
    def _nodes(self, kind: NodeKind, ids: list[str]) -> pa.Table:
        """The nodes of `kind` with these keys (NODE_SCHEMAS[kind], sorted by key)."""

    @abc.abstractmethod
    def _adjacent(
        self, frontier: list[tuple[str, str]], seen: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        """(kind, id) of nodes joined by an edge (either direction) to a frontier node and not in
        `seen`, sorted, at most `cap`."""

    @abc.abstractmethod
    def _edges_among(self, nodes: list[tuple[str, str]]) -> pa.Table:
        """Edges (EDGE_SCHEMA, sorted by EDGE_KEY) with both endpoints among `nodes`."""

    def prepare_reads(self) -> None:  # noqa: B027 - an optional hook: most stores need no warm-up
        """Warm what point reads (`get_node`, `neighbourhood`) need, so the first request after
        a server starts does not pay for it. Optional; the default does nothing."""

    # -- run records -----------------------------------------------------------------
    def save_run(self, run_id: str, record: dict[str, Any], results: bytes | None = None) -> None:
        """Store (or replace) a run record (a JSON-able dict; datetimes become ISO strings) and
        optionally its results.json bytes. Replacing a record without results keeps stored results."""
        if not run_id:
            raise StoreError("save_run: run_id must not be empty")
        record = {**record, "run_id": run_id}
        try:
            record_json = json.dumps(record, sort_keys=True, separators=(",", ":"), default=_json_default)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"run {run_id}: record is not JSON-serialisable: {exc}") from exc
        if results is not None and not isinstance(results, (bytes, bytearray)):
            raise StoreError(f"run {run_id}: results must be bytes, not {type(results).__name__}")
        self._save_run(run_id, record_json, None if results is None else bytes(results))
        logger.info(
            "%s: run %s saved (%s bytes of results)", self.url, run_id, "no" if results is None else len(results)
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run record (with 'run_id'); NotFound if absent."""
        record_json = self._get_run(run_id)
        if record_json is None:
            raise NotFound(f"no run {run_id!r}")
        record: dict[str, Any] = json.loads(record_json)
        return record

    def get_results(self, run_id: str) -> bytes:
        """The exact results.json bytes of a run; NotFound if the run or its results are absent."""
        found, results = self._get_results(run_id)
        if not found:
            raise NotFound(f"no run {run_id!r}")
        if results is None:
            raise NotFound(f"run {run_id!r} has no results")
        return results

    def list_runs(self) -> list[dict[str, Any]]:
        """All run records, newest first (by record['started_at'] descending, runs without it last),
        ties by run_id ascending."""
        records = [json.loads(r) for r in self._list_runs()]
        records.sort(key=lambda r: r["run_id"])
        records.sort(key=lambda r: (r.get("started_at") is not None, str(r.get("started_at") or "")), reverse=True)
        return records

    @abc.abstractmethod
    def _save_run(self, run_id: str, record_json: str, results: bytes | None) -> None:
        """Upsert the run; `results` None keeps any stored results."""

    @abc.abstractmethod
    def _get_run(self, run_id: str) -> str | None: ...

    @abc.abstractmethod
    def _get_results(self, run_id: str) -> tuple[bool, bytes | None]: ...

    @abc.abstractmethod
    def _list_runs(self) -> list[str]: ...


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _node_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A node row as returned by get_node: props JSON expanded."""
    out = dict(row)
    if "props" in out:
        out["props"] = None if out["props"] is None else json.loads(out["props"])
    return out


def _utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC; aware ones converted to UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def open_store(config: StoreConfig) -> GraphStore:
    """Open the store named by `config.url`: `embedded:PATH`, `neo4j://…` or `bolt://…`."""
    store = _open(config)
    logger.info("opened store %s", store.url)  # the store's url never holds credentials
    return store


def _open(config: StoreConfig) -> GraphStore:
    url = config.url
    if url.startswith("embedded:"):
        from graph.embedded import EmbeddedStore

        path = url[len("embedded:") :]
        if not path:
            raise ConfigError("store URL 'embedded:' needs a path, e.g. embedded:./crumbgraph.duckdb")
        return EmbeddedStore(path)
    if url.split("://", 1)[0] in {"neo4j", "bolt", "neo4j+s", "bolt+s", "neo4j+ssc", "bolt+ssc"}:
        from graph.neo4j_store import Neo4jStore

        return Neo4jStore(
            url,
            user=config.neo4j_user,
            password=config.neo4j_password,
            database=config.neo4j_database,
            batch_size=config.batch_size,
            write_concurrency=config.neo4j_write_concurrency,
        )
    raise ConfigError(f"store URL {url!r}: expected embedded:PATH, neo4j://HOST:PORT or bolt://HOST:PORT")

"""Neo4jStore: the graph in Neo4j over Bolt, written in batched `UNWIND ... MERGE` transactions.

Labels and relationship types come only from NodeKind/RelType. Timestamps are stored as
epoch microseconds (int) in `created_at`, exactly what Arrow timestamp[us, UTC] holds, so
nothing is lost or shifted on the way in or out. Run records are `(:Run)` nodes.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from neo4j import READ_ACCESS, GraphDatabase, ManagedTransaction, Result, RoutingControl
from neo4j.exceptions import (
    AuthError,
    ConfigurationError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph.errors import ConfigError, StoreError, StoreUnavailable
from graph.model import EDGE_KEY, EDGE_SCHEMA, NODE_SCHEMAS, TS, NodeKind, RelType
from graph.store import GraphStore

logger = logging.getLogger(__name__)

_BY_LABEL = {k.label: k for k in NodeKind}


def _kind_of(var: str) -> str:
    """Cypher expression: the NodeKind value of node `var` (null for foreign nodes)."""
    return "CASE " + " ".join(f"WHEN {var}:{k.label} THEN '{k.value}'" for k in NodeKind) + " END"


def _key_of(var: str) -> str:
    """Cypher expression: the identifying property of node `var`, whatever its kind."""
    return "CASE " + " ".join(f"WHEN {var}:{k.label} THEN {var}.{k.key}" for k in NodeKind) + " END"


def _is_ours(var: str) -> str:
    return "(" + " OR ".join(f"{var}:{k.label}" for k in NodeKind) + ")"


def _micros(table: pa.Table) -> pa.Table:
    """Timestamp columns as int64 epoch microseconds (what is stored)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.int64()))
    return table


def _wire_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` as the server sends it: timestamps as int64 epoch microseconds."""
    return pa.schema([pa.field(f.name, pa.int64()) if f.type == TS else f for f in schema])


def _to_arrow(rows: list[Any], schema: pa.Schema) -> pa.Table:
    """Query rows (records or tuples, in the order of `schema`'s fields) -> Arrow table in
    `schema`. One C++ conversion of the rows as a struct array: far cheaper than splitting them
    into Python columns first."""
    wire = _wire_schema(schema)
    if not rows:
        return schema.empty_table()
    arr = pa.array([tuple(r) for r in rows], type=pa.struct(list(wire)))
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(arr)])
    return table.cast(schema) if wire != schema else table


#: what a null becomes inside collect() (which drops nulls), by wire type; the IS NULL flags restore it
_NULL_STANDIN = {pa.int64(): "0", pa.float64(): "0.0", pa.bool_(): "false", pa.string(): "''"}


def _collect(columns: list[str], wire: pa.Schema) -> list[str]:
    """One collect() per column, and one of null flags per nullable column: flat lists, which
    the driver decodes far cheaper than a list per row."""
    out = []
    for col, f in zip(columns, wire, strict=True):
        if f.nullable:
            out += [f"collect(coalesce({col}, {_NULL_STANDIN[f.type]}))", f"collect({col} IS NULL)"]
        else:
            out.append(f"collect({col})")
    return out


def _from_lists(lists: list[list[Any]], wire: pa.Schema) -> pa.Table:
    """The columns `_collect` returned as an Arrow table in `wire`."""
    arrays, pos = [], 0
    for f in wire:
        if f.nullable:
            arrays.append(pa.array(lists[pos], f.type, mask=np.array(lists[pos + 1], bool)))
            pos += 2
        else:
            arrays.append(pa.array(lists[pos], f.type))
            pos += 1
    return pa.Table.from_arrays(arrays, schema=wire)


def _values(result: Result) -> list[list[Any]]:
    return result.values()


class Neo4jStore(GraphStore):
    """GraphStore over Neo4j 5 (one Driver per store object; thread-safe like the driver).

    Writes go in batches of `batch_size` rows, each batch one managed write transaction
    (retried by the driver on transient errors; every query is idempotent). A call that fails
    halfway leaves its earlier batches written; running it again converges.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        batch_size: int = 10_000,
        write_concurrency: int = 1,
        read_concurrency: int = 2,
        connection_timeout: float = 10.0,
        max_transaction_retry_time: float = 15.0,
    ) -> None:
        if batch_size < 1 or write_concurrency < 1:
            raise ConfigError(f"batch_size and write_concurrency must be >= 1, got {batch_size}, {write_concurrency}")
        self.write_concurrency = write_concurrency
        self.read_concurrency = max(1, read_concurrency)
        self.url = re.sub(r"//[^@/]*@", "//", url)  # never keep user:password@ of a URL
        self.user = user
        self.database = database
        self.batch_size = batch_size
        self._password = password
        try:
            self._driver = GraphDatabase.driver(
                url,
                auth=(user, password),
                connection_timeout=connection_timeout,
                max_transaction_retry_time=max_transaction_retry_time,
                notifications_min_severity="OFF",
            )
        except (ConfigurationError, ValueError) as exc:
            raise ConfigError(f"Neo4j URL {self.url!r}: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        msg = f"{type(exc).__name__}: {exc}"
        return msg.replace(self._password, "***") if self._password else msg

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except AuthError as exc:
            raise StoreUnavailable(
                f"Neo4j at {self.url} refused the credentials of user {self.user!r} while {doing} ({self._scrub(exc)})"
            ) from None
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailable(f"Neo4j at {self.url} is unreachable while {doing} ({self._scrub(exc)})") from None
        except (Neo4jError, DriverError) as exc:
            raise StoreError(f"Neo4j at {self.url}: {doing} failed ({self._scrub(exc)})") from None

    def close(self) -> None:
        self._driver.close()

    def _read(self, query: str, **params: Any) -> list[list[Any]]:
        return self._driver.execute_query(
            query, params, routing_=RoutingControl.READ, database_=self.database, result_transformer_=_values
        )

    def _read_arrow(self, query: str, schema: pa.Schema, chunk: int = 100_000, **params: Any) -> pa.Table:
        """Run a read query whose columns are named as `schema`, streaming the records into Arrow
        `chunk` rows at a time (a whole edge table never sits in memory as Python objects)."""

        def work(tx: ManagedTransaction) -> pa.Table:
            result = tx.run(query, params)
            if result.keys() and list(result.keys()) != schema.names:  # pragma: no cover - a programming error
                raise StoreError(f"query columns {result.keys()} are not {schema.names}")
            batches = []
            while rows := result.fetch(chunk):
                batches.append(_to_arrow(rows, schema))
            return pa.concat_tables(batches) if batches else schema.empty_table()

        with self._driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            return session.execute_read(work)

    def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._driver.session(database=self.database) as session:
            return session.execute_write(fn, *args)

    def ensure_schema(self) -> None:
        stmts = [
            f"CREATE CONSTRAINT {k.value}_key IF NOT EXISTS FOR (n:{k.label}) REQUIRE n.{k.key} IS UNIQUE"
            for k in NodeKind
        ]
        stmts.append("CREATE CONSTRAINT run_key IF NOT EXISTS FOR (n:Run) REQUIRE n.run_id IS UNIQUE")
        with self._errors("creating constraints"):
            for stmt in stmts:  # schema statements cannot share a transaction with anything else
                self._driver.execute_query(stmt, database_=self.database)

    def await_indexes(self, timeout_s: int = 600) -> None:
        """Wait until every index (those behind the constraints included) is online."""
        with self._errors("waiting for indexes"):
            self._driver.execute_query("CALL db.awaitIndexes($t)", t=timeout_s, database_=self.database)

    # -- writes ----------------------------------------------------------------------
    # Rows go as parallel lists (`UNWIND range(0, size($k) - 1) AS i ... $col[i]`) rather than a
    # list of maps: measured ~1.5x faster on the server (no map per row), and less to pack.
    def _column_batches(self, table: pa.Table) -> Iterator[dict[str, list[Any]]]:
        for start in range(0, table.num_rows, self.batch_size):
            part = table.slice(start, self.batch_size)
            yield {name: part.column(name).to_pylist() for name in part.column_names}

    def _write_all(self, work: Callable[..., Any], batches: Iterator[Any]) -> list[Any]:
        """Run `work` on every batch, `write_concurrency` transactions at a time. Safe because
        a call's rows have distinct keys (so order within a call does not matter) and every
        query is idempotent (a transaction the server fails as a deadlock is retried)."""
        if self.write_concurrency == 1:
            return [self._write(work, batch) for batch in batches]
        out: list[Any] = []
        with ThreadPoolExecutor(self.write_concurrency, thread_name_prefix="neo4j-write") as pool:
            while wave := list(itertools.islice(batches, self.write_concurrency)):
                out += [f.result() for f in [pool.submit(self._write, work, batch) for batch in wave]]
        return out

    def _upsert_nodes(self, kind: NodeKind, table: pa.Table) -> int:
        sets = ", ".join(f"n.{c} = ${c}[i]" for c in table.column_names if c != kind.key)
        query = f"UNWIND range(0, size(${kind.key}) - 1) AS i MERGE (n:{kind.label} {{{kind.key}: ${kind.key}[i]}})" + (
            f" SET {sets}" if sets else ""
        )

        def work(tx: ManagedTransaction, batch: dict[str, list[Any]]) -> None:
            tx.run(query, batch).consume()

        with self._errors(f"writing {kind} nodes"):
            self._write_all(work, self._column_batches(_micros(table.sort_by(kind.key))))
        return int(table.num_rows)

    def _ensure_nodes(self, kind: NodeKind, ids: pa.Array) -> int:
        on_create = " ON CREATE SET n.bare = true" if "bare" in NODE_SCHEMAS[kind].names else ""
        query = f"UNWIND $ids AS id MERGE (n:{kind.label} {{{kind.key}: id}}){on_create}"

        def work(tx: ManagedTransaction, batch: list[str]) -> int:
            return int(tx.run(query, ids=batch).consume().counters.nodes_created)

        with self._errors(f"creating {kind} nodes"):
            created = sum(self._write_all(work, (b["ids"] for b in self._column_batches(pa.table({"ids": ids})))))
        return int(created)

    def _upsert_edges(self, table: pa.Table) -> int:
        groups = table.group_by(["src_kind", "type", "dst_kind"], use_threads=False).aggregate([]).to_pylist()
        with self._errors("writing edges"):
            for g in sorted(groups, key=lambda g: (g["src_kind"], g["type"], g["dst_kind"])):
                self._upsert_edge_group(table, NodeKind(g["src_kind"]), RelType(g["type"]), NodeKind(g["dst_kind"]))
        return int(table.num_rows)

    def _upsert_edge_group(self, table: pa.Table, src: NodeKind, rel: RelType, dst: NodeKind) -> None:
        """The rows of one (source kind, type, target kind): one query shape, labels from enums."""
        mask = pc.and_(
            pc.and_(pc.equal(table["src_kind"], src.value), pc.equal(table["type"], rel.value)),
            pc.equal(table["dst_kind"], dst.value),
        )
        # Sorted by source: consecutive rows touch the same nodes (page-cache locality).
        part = _micros(
            table.filter(mask)
            .select(["src_id", "dst_id", "kind", "created_at", "props"])
            .sort_by([("src_id", "ascending"), ("dst_id", "ascending")])
        )
        part = part.rename_columns(["s", "d", "k", "t", "p"])
        query = (
            f"UNWIND range(0, size($s) - 1) AS i MATCH (a:{src.label} {{{src.key}: $s[i]}}) "
            f"MATCH (b:{dst.label} {{{dst.key}: $d[i]}}) "
            f"MERGE (a)-[r:{rel.value} {{kind: $k[i]}}]->(b) SET r.created_at = $t[i], r.props = $p[i] "
            f"RETURN count(*)"
        )

        def work(tx: ManagedTransaction, batch: dict[str, list[Any]]) -> None:
            written = tx.run(query, batch).single(strict=True)[0]
            if written != len(batch["s"]):
                raise StoreError(
                    f"edges: {len(batch['s']) - written} {src.value}->{dst.value} {rel.value} "
                    f"row(s) name an endpoint that does not exist (call ensure_nodes first)"
                )

        self._write_all(work, self._column_batches(part))
        logger.debug("neo4j: %d %s-%s->%s edges written", part.num_rows, src.value, rel.value, dst.value)

    # -- reads -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._errors("counting"):
            out = {k.label: int(self._read(f"MATCH (n:{k.label}) RETURN count(n)")[0][0]) for k in NodeKind}
            for t in RelType:
                out[t.value] = int(self._read(f"MATCH ()-[r:{t.value}]->() RETURN count(r)")[0][0])
        return out

    def _node_columns(self, kind: NodeKind) -> list[str]:
        """Cypher expressions of node `n`'s columns, in NODE_SCHEMAS[kind] order."""
        cols = [f"n.{f.name}" for f in NODE_SCHEMAS[kind]]
        return [("coalesce(n.bare, false)" if c == "n.bare" else c) for c in cols]

    def _node_query(self, kind: NodeKind, match: str, **params: Any) -> pa.Table:
        schema = NODE_SCHEMAS[kind]
        ret = ", ".join(f"{c} AS {f.name}" for c, f in zip(self._node_columns(kind), schema))
        with self._errors(f"reading {kind} nodes"):
            return self._read_arrow(f"{match} RETURN {ret}", schema, **params).sort_by(kind.key)

    def node_table(self, kind: NodeKind) -> pa.Table:
        kind = NodeKind(kind)
        match = f"MATCH (n:{kind.label}) WHERE id(n) = i"
        with self._errors(f"reading {kind} nodes"):
            table = self._read_scan(match, self._node_columns(kind), NODE_SCHEMAS[kind])
        return table.sort_by(kind.key)

    def _nodes(self, kind: NodeKind, ids: list[str]) -> pa.Table:
        return self._node_query(kind, f"UNWIND $ids AS id MATCH (n:{kind.label} {{{kind.key}: id}})", ids=ids)

    # -- whole-graph reads -----------------------------------------------------------
    # A record per row costs the driver ~10 us of Python (25 CPU-s for 1.75M edges); instead each
    # query covers a range of internal node ids and returns ONE record whose list holds the rows
    # (decoded in the driver's Rust extension: 0.4 CPU-s for the same edges). Internal ids only cut
    # the scan into ranges (NodeByIdSeek); rows are identified by their keys as everywhere else.
    def _read_scan(self, match: str, columns: list[str], schema: pa.Schema, **params: Any) -> pa.Table:
        """Rows of `match` (which binds `i`, one internal node id, e.g. `MATCH (n:L) WHERE id(n) = i`)
        over every node id, SCAN_CHUNK ids a query, read_concurrency queries at a time."""
        top = self._read("MATCH (n) RETURN max(id(n))")[0][0]
        if top is None:
            return schema.empty_table()
        wire = _wire_schema(schema)
        query = f"UNWIND range($lo, $hi) AS i {match} RETURN {', '.join(_collect(columns, wire))}"

        def read(lo: int) -> pa.Table:
            lists = self._read(query, lo=lo, hi=min(lo + self.SCAN_CHUNK, top + 1) - 1, **params)[0]
            return _from_lists(lists, wire).cast(schema)

        starts = range(0, int(top) + 1, self.SCAN_CHUNK)
        if self.read_concurrency == 1:
            parts = [read(lo) for lo in starts]
        else:
            with ThreadPoolExecutor(self.read_concurrency, thread_name_prefix="neo4j-read") as pool:
                parts = list(pool.map(read, starts))
        return pa.concat_tables(parts)

    SCAN_CHUNK = 50_000  # node ids a whole-graph read query covers (bounds the server's collect)

    _EDGE_COLUMNS = [
        _kind_of("a"),
        _key_of("a"),
        "type(r)",
        "r.kind",
        _kind_of("b"),
        _key_of("b"),
        "r.created_at",
        "r.props",
    ]
    _EDGE_RETURN = "RETURN " + ", ".join(f"{c} AS {f.name}" for c, f in zip(_EDGE_COLUMNS, EDGE_SCHEMA))

    def _node_map(self) -> tuple[np.ndarray, pa.Array, pa.Array]:
        """Internal id (sorted), kind and key of every node of ours, to name the endpoints of
        edges read by internal id (a node's key is read once, not once per edge)."""
        schema = pa.schema(
            [
                pa.field(n, t, nullable=False)
                for n, t in (("id", pa.int64()), ("kind", pa.string()), ("key", pa.string()))
            ]
        )
        match = f"MATCH (n) WHERE id(n) = i AND {_is_ours('n')}"
        table = self._read_scan(match, ["i", _kind_of("n"), _key_of("n")], schema)
        table = table.sort_by("id")
        ids = np.asarray(table.column("id").to_numpy(), np.int64)
        return ids, table.column("kind").combine_chunks(), table.column("key").combine_chunks()

    def _edge_scan(
        self,
        columns: list[str],
        schema: pa.Schema,
        types: list[str] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> pa.Table:
        """Edges (of `types`, in the created_at window) as `columns` of `r` with `src`/`dst` the
        internal ids of their endpoints, mapped to src_kind/src_id/dst_kind/dst_id; edges with an
        endpoint that is not ours are left out."""
        rel = "" if types is None else ":" + "|".join(RelType(t).value for t in types)
        where = ["id(a) = i"]
        params: dict[str, Any] = {}
        if since is not None:
            where.append("(r.created_at IS NULL OR r.created_at >= $since)")
            params["since"] = _to_micros(since)
        if until is not None:
            where.append("(r.created_at IS NULL OR r.created_at < $until)")
            params["until"] = _to_micros(until)
        match = f"MATCH (a)-[r{rel}]->(b) WHERE {' AND '.join(where)}"
        wire = pa.schema([pa.field("src", pa.int64(), False), pa.field("dst", pa.int64(), False), *schema])
        node_ids, kinds, keys = self._node_map()
        table = self._read_scan(match, ["i", "id(b)", *columns], wire, **params)
        ends = {}
        for side in ("src", "dst"):
            ids = np.asarray(table.column(side).to_numpy(), np.int64)
            pos = np.minimum(np.searchsorted(node_ids, ids), max(len(node_ids) - 1, 0))
            ends[side] = (pos, node_ids[pos] == ids if len(node_ids) else np.zeros(len(ids), bool))
        keep = ends["src"][1] & ends["dst"][1]
        out = table.drop_columns(["src", "dst"]).filter(pa.array(keep))
        for side in ("src", "dst"):
            take = pa.array(ends[side][0][keep])
            out = out.append_column(f"{side}_kind", kinds.take(take)).append_column(f"{side}_id", keys.take(take))
        return out

    def _edge_table(
        self, types: list[str] | None, since: datetime | None, until: datetime | None, *, ordered: bool = True
    ) -> pa.Table:
        if types is not None and not types:
            return EDGE_SCHEMA.empty_table()
        rel_schema = pa.schema(
            [
                EDGE_SCHEMA.field(n).with_nullable(n in ("created_at", "props"))
                for n in ("type", "kind", "created_at", "props")
            ]
        )
        cols = ["type(r)", "r.kind", "r.created_at", "r.props"]
        with self._errors("reading edges"):
            table = self._edge_scan(cols, rel_schema, types, since, until).select(EDGE_SCHEMA.names).cast(EDGE_SCHEMA)
        return table.sort_by([(k, "ascending") for k in EDGE_KEY]) if ordered else table

    def _projection_edges(self, types: list[str] | None, since: datetime | None, until: datetime | None) -> pa.Table:
        schema = pa.schema([EDGE_SCHEMA.field("type").with_nullable(False), EDGE_SCHEMA.field("created_at")])
        with self._errors("reading edges"):
            return self._edge_scan(["type(r)", "r.created_at"], schema, types, since, until)

    def _adjacent(
        self, frontier: list[tuple[str, str]], seen: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        kinds = [k.value for k in NodeKind]  # always all kinds: one query text, planned once
        parts = [
            f"UNWIND $ids_{k} AS id MATCH (n:{NodeKind(k).label} {{{NodeKind(k).key}: id}})--(m) "
            f"WHERE {_is_ours('m')} RETURN DISTINCT m"
            for k in kinds
        ]
        query = (
            f"CALL () {{ {' UNION '.join(parts)} }} "
            f"WITH {_kind_of('m')} AS kind, {_key_of('m')} AS id WHERE NOT kind + '\\u0000' + id IN $seen "
            f"RETURN kind, id ORDER BY kind, id LIMIT $cap"
        )
        ids = {f"ids_{k}": [i for kk, i in frontier if kk == k] for k in kinds}
        with self._errors("reading a neighbourhood"):
            rows = self._read(query, seen=[f"{k}\x00{i}" for k, i in seen], cap=cap, **ids)
        # Sorted again here: Neo4j orders strings by UTF-16 code units, Arrow/DuckDB by code points.
        return sorted((str(k), str(i)) for k, i in rows)

    def _edges_among(self, nodes: list[tuple[str, str]]) -> pa.Table:
        kinds = [k.value for k in NodeKind]
        parts = [
            f"UNWIND $ids_{k} AS id MATCH (a:{NodeKind(k).label} {{{NodeKind(k).key}: id}})-[r]->(b) "
            f"WHERE {_kind_of('b')} + '\\u0000' + {_key_of('b')} IN $keys RETURN a, r, b"
            for k in kinds
        ]
        query = f"CALL () {{ {' UNION ALL '.join(parts)} }} {self._EDGE_RETURN}"
        ids = {f"ids_{k}": [i for kk, i in nodes if kk == k] for k in kinds}
        with self._errors("reading a neighbourhood"):
            values = self._read(query, keys=[f"{k}\x00{i}" for k, i in nodes], **ids)
        return _to_arrow(values, EDGE_SCHEMA).sort_by([(k, "ascending") for k in EDGE_KEY])

    # -- run records -----------------------------------------------------------------
    def _save_run(self, run_id: str, record_json: str, results: bytes | None) -> None:
        def work(tx: ManagedTransaction) -> None:
            tx.run(
                "MERGE (r:Run {run_id: $run_id}) SET r.record_json = $record_json, "
                "r.results = CASE WHEN $results IS NULL THEN r.results ELSE $results END",
                run_id=run_id,
                record_json=record_json,
                results=results,
            ).consume()

        with self._errors(f"saving run {run_id}"):
            self._write(work)

    def _get_run(self, run_id: str) -> str | None:
        with self._errors(f"reading run {run_id}"):
            rows = self._read("MATCH (r:Run {run_id: $run_id}) RETURN r.record_json", run_id=run_id)
        return rows[0][0] if rows else None

    def _get_results(self, run_id: str) -> tuple[bool, bytes | None]:
        with self._errors(f"reading run {run_id}"):
            rows = self._read("MATCH (r:Run {run_id: $run_id}) RETURN r.results", run_id=run_id)
        if not rows:
            return False, None
        return True, None if rows[0][0] is None else bytes(rows[0][0])

    def _list_runs(self) -> list[str]:
        with self._errors("listing runs"):
            return [r[0] for r in self._read("MATCH (r:Run) RETURN r.record_json")]


def _to_micros(value: datetime) -> int:
    """An aware datetime as integer epoch microseconds (exact, no float rounding)."""
    return int(pa.scalar(value, TS).cast(pa.int64()).as_py())

"""EmbeddedStore: the graph in one DuckDB file (`embedded:PATH`), loaded straight from Arrow.

One table per node kind, one `edges` table, one `runs` table. No index: every row carries
`h`, DuckDB's hash of its key, and an upsert finds the rows it replaces with a semi-join on `h`
(DuckDB pushes the join's filter into the scan, so only matching rows are read) followed by an
exact comparison of the key columns. Each public write is one transaction.
Point reads (get_node, neighbourhood) go to an in-memory snapshot (graph.adjacency) built on the
first such read and dropped by the next graph write, since without an index each would scan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from graph.adjacency import KINDS, Adjacency, start_vid
from graph.errors import StoreError, StoreUnavailable
from graph.model import EDGE_KEY, EDGE_SCHEMA, NODE_SCHEMAS, NodeKind, RelType
from graph.store import GraphStore

logger = logging.getLogger(__name__)

#: Bumped when the table layout changes.
FORMAT_VERSION = "1"

_SQL_TYPES = {pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN", pa.float64(): "DOUBLE"}

#: Table of each node kind.
_NODE_TABLE = {k: k.value for k in NodeKind}


def _sql_type(t: pa.DataType) -> str:
    return "TIMESTAMPTZ" if pa.types.is_timestamp(t) else _SQL_TYPES[t]


def _cols(schema: pa.Schema) -> str:
    return ", ".join(f.name for f in schema)


def _hash(keys: Sequence[str], alias: str = "") -> str:
    return f"hash({', '.join(alias + k for k in keys)})"


def _on(keys: Sequence[str], a: str, b: str) -> str:
    return " AND ".join([f"{a}.h = {b}.h"] + [f"{a}.{k} = {b}.{k}" for k in keys])


class EmbeddedStore(GraphStore):
    """GraphStore over one DuckDB file.

    Concurrency: any number of threads of one process may read at once (each call uses its
    own cursor); writes are serialised by a lock. DuckDB lets only one process open the file
    for writing, so a second process (a second `crumbgraph ingest` or `serve`) gets
    StoreUnavailable while the first holds it.
    """

    def __init__(self, path: str | Path, memory_limit: str = "2GB") -> None:
        self.path = str(path)
        self.url = f"embedded:{self.path}"
        self._write_lock = threading.Lock()
        self._generation = 0  # bumped (under the write lock) by every graph write
        self._adjacency: Adjacency | None = None
        self._adjacency_lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # DuckDB's own default is 80% of RAM; a bound keeps big sorts/joins spilling to
            # PATH.tmp instead, so that the process stays within the memory budget of issue 3.
            self._con = duckdb.connect(self.path, config={"memory_limit": memory_limit})
        except duckdb.IOException as exc:
            raise StoreUnavailable(f"embedded store {self.path}: cannot open ({exc})") from exc
        except OSError as exc:
            raise StoreUnavailable(f"embedded store {self.path}: cannot open ({exc})") from exc
        self.ensure_schema()

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        try:
            cur = self._con.cursor()
        except duckdb.ConnectionException as exc:
            raise StoreError(f"embedded store {self.path} is closed") from exc
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute("SET preserve_insertion_order = false")  # reads sort explicitly; saves memory on loads
        return cur

    def ensure_schema(self) -> None:
        ddl = [
            f"CREATE TABLE IF NOT EXISTS {_NODE_TABLE[k]} ("
            + ", ".join(f"{f.name} {_sql_type(f.type)}" for f in schema)
            + ", h UBIGINT NOT NULL)"
            for k, schema in NODE_SCHEMAS.items()
        ]
        ddl.append(
            "CREATE TABLE IF NOT EXISTS edges ("
            + ", ".join(f"{f.name} {_sql_type(f.type)}" for f in EDGE_SCHEMA)
            + ", h UBIGINT NOT NULL)"
        )
        ddl.append(
            "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, record_json VARCHAR NOT NULL, results BLOB)"
        )
        ddl.append("CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        with self._write_lock, self._cursor() as cur:
            cur.execute("BEGIN")
            for stmt in ddl:
                cur.execute(stmt)
            probe = str(cur.execute("SELECT hash('crumbgraph')").fetchall()[0][0])
            meta = dict(cur.execute("SELECT name, value FROM meta").fetchall())
            if meta.get("format", FORMAT_VERSION) != FORMAT_VERSION:
                cur.execute("ROLLBACK")
                raise StoreError(
                    f"embedded store {self.path}: format {meta['format']}, this version reads {FORMAT_VERSION}"
                )
            if meta.get("hash_probe") not in (None, probe):
                # Another DuckDB version hashes differently: recompute every stored key hash.
                for k in NodeKind:
                    cur.execute(f"UPDATE {_NODE_TABLE[k]} SET h = {_hash([k.key])}")
                cur.execute(f"UPDATE edges SET h = {_hash(EDGE_KEY)}")
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?), ('hash_probe', ?)", [FORMAT_VERSION, probe])
            cur.execute("COMMIT")

    # -- writes ----------------------------------------------------------------------
    def _keep_last(self, table: pa.Table, key: Sequence[str]) -> pa.Table:
        return table  # done in SQL by _upsert, faster than in Arrow

    def _upsert(
        self,
        table: str,
        schema: pa.Schema,
        keys: Sequence[str],
        rows: pa.Table,
        check: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None,
    ) -> int:
        cols = _cols(schema)
        with self._write_lock, self._cursor() as cur:
            self._generation += 1
            cur.register("_in", rows.append_column("_i", pa.array(np.arange(rows.num_rows, dtype=np.int64))))
            try:
                cur.execute("BEGIN")
                n = self._insert_new(cur, table, cols, keys, check)
                if n is None:
                    n = self._replace(cur, table, schema, keys, check)
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                cur.execute("ROLLBACK")
                raise StoreError(f"embedded store {self.path}: writing {table} failed: {exc}") from exc
            except StoreError:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.unregister("_in")
        return int(n)

    @staticmethod
    def _insert_new(
        cur: duckdb.DuckDBPyConnection,
        table: str,
        cols: str,
        keys: Sequence[str],
        check: Callable[[duckdb.DuckDBPyConnection, str], None] | None,
    ) -> int | None:
        """The common case of a bulk load, straight from the Arrow input without a staging copy:
        every key distinct and none stored yet (by hash, so a collision takes the exact path).
        None when that is not so."""
        hashes = f"SELECT {_hash(keys)} AS h FROM _in"
        n, distinct = cur.execute(f"SELECT count(*), count(DISTINCT h) FROM ({hashes})").fetchall()[0]
        if n != distinct:
            return None
        if cur.execute(f"SELECT count(*) FROM {table} t SEMI JOIN ({hashes}) b ON t.h = b.h").fetchall()[0][0]:
            return None
        if check is not None:
            check(cur, "_in")
        cur.execute(f"INSERT INTO {table} ({cols}, h) SELECT {cols}, {_hash(keys)} FROM _in")
        return int(n)

    @staticmethod
    def _replace(
        cur: duckdb.DuckDBPyConnection,
        table: str,
        schema: pa.Schema,
        keys: Sequence[str],
        check: Callable[[duckdb.DuckDBPyConnection, str], None] | None,
    ) -> int:
        """Replace-by-key as set operations over a staging copy `_b` of the input."""
        cols = _cols(schema)
        cur.execute(f"CREATE TEMP TABLE _b AS SELECT {cols}, {_hash(keys)} AS h, _i FROM _in")
        n, distinct = cur.execute("SELECT count(*), count(DISTINCT h) FROM _b").fetchall()[0]
        if n != distinct:  # duplicate keys (or a hash collision): the last row of each key wins
            dup = "SELECT h FROM _b GROUP BY h HAVING count(*) > 1"
            cur.execute(f"""DELETE FROM _b WHERE h IN ({dup})
                AND _i NOT IN (SELECT max(_i) FROM _b WHERE h IN ({dup}) GROUP BY h, {", ".join(keys)})""")
            n = cur.execute("SELECT count(*) FROM _b").fetchall()[0][0]
        if check is not None:
            check(cur, "_b")
        # Existing rows with a key in _b, in two steps: candidates by h alone (a scan of one
        # integer column), then only if there are any, the exact key comparison (so hash
        # collisions never merge two rows). Identical rows are left alone (a re-ingest writes
        # nothing); changed ones are deleted and inserted again.
        cur.execute(f"CREATE TEMP TABLE _c AS SELECT t.rowid AS r FROM {table} t SEMI JOIN _b ON t.h = _b.h")
        if cur.execute("SELECT count(*) FROM _c").fetchall()[0][0]:
            rest = [c for c in schema.names if c not in keys]
            same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM b.{c}" for c in rest) or "true"
            cur.execute(f"""CREATE TEMP TABLE _m AS SELECT t.rowid AS r, b._i, ({same}) AS same
                FROM {table} t JOIN _b b ON {_on(keys, "t", "b")} WHERE t.rowid IN (SELECT r FROM _c)""")
            cur.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT r FROM _m WHERE NOT same)")
            cur.execute("DELETE FROM _b WHERE _i IN (SELECT _i FROM _m WHERE same)")
            cur.execute("DROP TABLE _m")
        cur.execute("DROP TABLE _c")
        cur.execute(f"INSERT INTO {table} ({cols}, h) SELECT {cols}, h FROM _b")
        cur.execute("DROP TABLE _b")
        return int(n)

    def _upsert_nodes(self, kind: NodeKind, table: pa.Table) -> int:
        return self._upsert(_NODE_TABLE[kind], NODE_SCHEMAS[kind], [kind.key], table)

    def _ensure_nodes(self, kind: NodeKind, ids: pa.Array) -> int:
        name, key = _NODE_TABLE[kind], kind.key
        bare = ", bare" if "bare" in NODE_SCHEMAS[kind].names else ""
        with self._write_lock, self._cursor() as cur:
            self._generation += 1
            cur.register("_in", pa.table({key: ids}))
            try:
                cur.execute("BEGIN")
                cur.execute(f"CREATE TEMP TABLE _b AS SELECT {key}, {_hash([key])} AS h FROM _in")
                existing = f"SELECT h, {key} FROM {name} t SEMI JOIN _b ON t.h = _b.h"
                created = cur.execute(f"""INSERT INTO {name} ({key}{bare}, h)
                    SELECT b.{key}{", true" if bare else ""}, b.h FROM _b b
                    ANTI JOIN ({existing}) t ON {_on([key], "b", "t")}""").fetchall()[0][0]
                cur.execute("DROP TABLE _b")
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                cur.execute("ROLLBACK")
                raise StoreError(f"embedded store {self.path}: creating {kind} nodes failed: {exc}") from exc
        return int(created)

    def _upsert_edges(self, table: pa.Table, check_endpoints: bool = True) -> int:
        check = self._check_endpoints if check_endpoints else None
        return self._upsert("edges", EDGE_SCHEMA, EDGE_KEY, table, check=check)

    def _upsert_proven_edges(self, table: pa.Table) -> int:
        return self._upsert_edges(table, check_endpoints=False)

    def _check_endpoints(self, cur: duckdb.DuckDBPyConnection, src: str) -> None:
        """StoreError if an edge in `src` names a node that does not exist (inside the write
        transaction): the batch's distinct endpoints anti-joined with the nodes whose key hash
        they share (a scan of one integer column)."""
        ends = f"SELECT src_kind AS kind, src_id AS id FROM {src} UNION SELECT dst_kind, dst_id FROM {src}"
        cur.execute(f"CREATE TEMP TABLE _ends AS SELECT kind, id, {_hash(['id'])} AS h FROM ({ends})")
        parts = [
            f"""SELECT e.kind, e.id FROM _ends e ANTI JOIN
                       (SELECT h, {k.key} FROM {_NODE_TABLE[k]} n
                        SEMI JOIN (SELECT h FROM _ends WHERE kind = '{k.value}') m ON n.h = m.h) n
                       ON n.h = e.h AND n.{k.key} = e.id WHERE e.kind = '{k.value}'"""
            for k in self._kinds_in(cur)
        ]
        missing = (
            []
            if not parts
            else cur.execute(f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2 LIMIT 5").fetchall()
        )
        cur.execute("DROP TABLE _ends")
        if missing:
            raise StoreError(
                "edges: endpoint(s) that do not exist (call ensure_nodes first), e.g. "
                + ", ".join(f"{k} {i!r}" for k, i in missing)
            )

    @staticmethod
    def _kinds_in(cur: duckdb.DuckDBPyConnection) -> list[NodeKind]:
        """The node kinds the endpoints in _ends name (a follows batch: accounts only), so that
        the check scans only those node tables."""
        named = {str(k) for (k,) in cur.execute("SELECT DISTINCT kind FROM _ends").fetchall()}
        return [k for k in NodeKind if k.value in named]

    # -- reads -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._cursor() as cur:
            out = {
                k.label: int(cur.execute(f"SELECT count(*) FROM {_NODE_TABLE[k]}").fetchall()[0][0]) for k in NodeKind
            }
            by_type = dict(cur.execute("SELECT type, count(*) FROM edges GROUP BY type").fetchall())
        out.update({t.value: int(by_type.get(t.value, 0)) for t in RelType})
        return out

    def node_table(self, kind: NodeKind) -> pa.Table:
        kind = NodeKind(kind)
        schema = NODE_SCHEMAS[kind]
        with self._cursor() as cur:
            return (
                cur.sql(f"SELECT {_cols(schema)} FROM {_NODE_TABLE[kind]} ORDER BY {kind.key}")
                .to_arrow_table()
                .cast(schema)
            )

    def _edge_table(
        self, types: list[str] | None, since: datetime | None, until: datetime | None, *, ordered: bool = True
    ) -> pa.Table:
        where: list[str] = []
        params: list[str | datetime] = []
        if types is not None:
            if not types:
                return EDGE_SCHEMA.empty_table()
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            params += types
        if since is not None:
            where.append("(created_at IS NULL OR created_at >= ?)")
            params.append(since)
        if until is not None:
            where.append("(created_at IS NULL OR created_at < ?)")
            params.append(until)
        sql = f"SELECT {_cols(EDGE_SCHEMA)} FROM edges"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if ordered:
            sql += f" ORDER BY {', '.join(EDGE_KEY)}"
        with self._cursor() as cur:
            return cur.sql(sql, params=params).to_arrow_table().cast(EDGE_SCHEMA)

    def _nodes(self, kind: NodeKind, ids: list[str]) -> pa.Table:
        adjacency = self._snapshot()
        if adjacency is not None:
            vids = [v for v in adjacency.vids(kind, ids) if v is not None]
            return adjacency.rows(kind, np.array(vids, np.int64))
        schema = NODE_SCHEMAS[kind]
        with self._cursor() as cur:
            cur.register("_ids", pa.table({"id": pa.array(ids, pa.string())}))
            return (
                cur.sql(
                    f"SELECT {_cols(schema)} FROM {_NODE_TABLE[kind]} t SEMI JOIN _ids ON t.{kind.key} = _ids.id "
                    f"ORDER BY {kind.key}"
                )
                .to_arrow_table()
                .cast(schema)
            )

    def _neighbourhood(self, kind: NodeKind, node_id: str, hops: int, limit: int) -> dict[str, Any]:
        adjacency = self._snapshot()
        if adjacency is None:
            return super()._neighbourhood(kind, node_id, hops, limit)
        return adjacency.neighbourhood(start_vid(adjacency, kind, node_id), hops, limit)

    def prepare_reads(self) -> None:
        """Build the in-memory adjacency snapshot now rather than on the first point read."""
        self._snapshot()

    def _snapshot(self) -> Adjacency | None:
        """The in-memory snapshot of the current graph, built if needed; None when a write
        happened during the build (callers then use the SQL path)."""
        adjacency = self._adjacency
        if adjacency is not None and adjacency.generation == self._generation:
            return adjacency
        with self._adjacency_lock:  # one build at a time; other readers wait for it
            adjacency = self._adjacency
            if adjacency is not None and adjacency.generation == self._generation:
                return adjacency
            self._adjacency = None  # let the stale one be freed before building
            with self._write_lock:  # no write in progress: the generation matches what we read
                generation = self._generation
            adjacency = self._build_adjacency(generation)
            with self._write_lock:
                if generation != self._generation:
                    return None
                self._adjacency = adjacency
            return adjacency

    def _build_adjacency(self, generation: int) -> Adjacency:
        tables, vid_sql, first = {}, [], 0
        with self._cursor() as cur:
            cur.execute("BEGIN")  # one snapshot for every read below
            for kind in KINDS:
                schema = NODE_SCHEMAS[kind]
                # ORDER BY compares bytes (DuckDB's default collation): the order Python gives str.
                tables[kind] = (
                    cur.sql(f"SELECT {_cols(schema)} FROM {_NODE_TABLE[kind]} ORDER BY {kind.key}")
                    .to_arrow_table()
                    .cast(schema)
                )
                vid_sql.append(
                    f"SELECT '{kind.value}' AS nk, {kind.key} AS nid, "
                    f"({first} + row_number() OVER (ORDER BY {kind.key}) - 1)::UINTEGER AS vid FROM {_NODE_TABLE[kind]}"
                )
                first += tables[kind].num_rows
            words = {
                col: sorted(r[0] for r in cur.execute(f"SELECT DISTINCT {col} FROM edges").fetchall())
                for col in ("type", "kind")
            }
            for col, values in words.items():
                cur.register(
                    f"_{col}s",
                    pa.table({"w": pa.array(values, pa.string()), "c": pa.array(np.arange(len(values)), pa.int32())}),
                )
            edges = cur.sql(f"""WITH v AS ({" UNION ALL ".join(vid_sql)})
                SELECT s.vid AS src, d.vid AS dst, t.c AS type, k.c AS kind FROM edges e
                JOIN v s ON e.src_kind = s.nk AND e.src_id = s.nid
                JOIN v d ON e.dst_kind = d.nk AND e.dst_id = d.nid
                JOIN _types t ON e.type = t.w JOIN _kinds k ON e.kind = k.w
                ORDER BY src, type, kind, dst""").to_arrow_table()
            cur.execute("COMMIT")
        adjacency = Adjacency.build(generation, tables, edges, words["type"], words["kind"])
        logger.info(
            "%s: adjacency snapshot of %d nodes and %d edges", self.url, int(adjacency.offset[-1]), edges.num_rows
        )
        return adjacency

    def _adjacent(
        self, frontier: list[tuple[str, str]], seen: list[tuple[str, str]], cap: int
    ) -> list[tuple[str, str]]:
        with self._cursor() as cur:
            cur.register("_f", _pairs(frontier))
            cur.register("_s", _pairs(seen))
            rows = cur.execute(f"""SELECT kind, id FROM (
                    SELECT e.dst_kind AS kind, e.dst_id AS id FROM edges e
                        SEMI JOIN _f f ON e.src_kind = f.kind AND e.src_id = f.id
                    UNION
                    SELECT e.src_kind, e.src_id FROM edges e SEMI JOIN _f f ON e.dst_kind = f.kind AND e.dst_id = f.id
                ) a ANTI JOIN _s s ON a.kind = s.kind AND a.id = s.id
                ORDER BY kind, id LIMIT {int(cap)}""").fetchall()
        return [(str(k), str(i)) for k, i in rows]

    def _edges_among(self, nodes: list[tuple[str, str]]) -> pa.Table:
        with self._cursor() as cur:
            cur.register("_n", _pairs(nodes))
            return (
                cur.sql(f"""SELECT {_cols(EDGE_SCHEMA)} FROM
                    (SELECT * FROM edges e SEMI JOIN _n a ON e.src_kind = a.kind AND e.src_id = a.id) e
                    SEMI JOIN _n b ON e.dst_kind = b.kind AND e.dst_id = b.id
                ORDER BY {", ".join(EDGE_KEY)}""")
                .to_arrow_table()
                .cast(EDGE_SCHEMA)
            )

    # -- run records -----------------------------------------------------------------
    def _save_run(self, run_id: str, record_json: str, results: bytes | None) -> None:
        with self._write_lock, self._cursor() as cur:
            cur.execute(
                """INSERT INTO runs VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET
                           record_json = excluded.record_json, results = coalesce(excluded.results, runs.results)""",
                [run_id, record_json, results],
            )

    def _get_run(self, run_id: str) -> str | None:
        with self._cursor() as cur:
            rows = cur.execute("SELECT record_json FROM runs WHERE run_id = ?", [run_id]).fetchall()
        return rows[0][0] if rows else None

    def _get_results(self, run_id: str) -> tuple[bool, bytes | None]:
        with self._cursor() as cur:
            rows = cur.execute("SELECT results FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not rows:
            return False, None
        return True, None if rows[0][0] is None else bytes(rows[0][0])

    def _list_runs(self) -> list[str]:
        with self._cursor() as cur:
            return [r[0] for r in cur.execute("SELECT record_json FROM runs").fetchall()]


def _pairs(pairs: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {"kind": pa.array([k for k, _ in pairs], pa.string()), "id": pa.array([i for _, i in pairs], pa.string())}
    )

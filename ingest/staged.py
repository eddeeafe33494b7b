"""The validated, normalised, deduplicated rows of a snapshot as the ingest staged them, read
back as Arrow batches per table: what every writer consumes (the GraphStore upserts of
ingest/pipeline.py; a bulk importer such as Neo4j's can read the same batches).

Rows live in the ingest's staging DuckDB (`final_<table>`, one row per identity, and `bare`,
the referenced ids no table defines) until the ingest ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from graph.model import EDGE_SCHEMA, NODE_SCHEMAS, STRUCTURAL_KIND, NodeKind, RelType
from ingest.validate import KEYS, STAGED

#: the node kind each node table holds
NODE_TABLES: dict[str, NodeKind] = {"accounts": NodeKind.ACCOUNT, "content": NodeKind.CONTENT}


class StagedSnapshot:
    """Read access to the staged rows (valid while the ingest's staging database is open)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, batch_rows: int) -> None:
        self.con = con
        self.batch_rows = batch_rows

    def _stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.con.sql(sql).to_arrow_reader(self.batch_rows)

    def rows(self, table: str) -> Iterator[pa.RecordBatch]:
        """The deduplicated rows of `table` (schema STAGED[table]) in key order, the digest's order."""
        cols = ", ".join(_ident(c) for c in STAGED[table].names)
        return self._stream(f"SELECT {cols} FROM final_{table} ORDER BY {', '.join(KEYS[table])}")

    @staticmethod
    def nodes(table: str, batch: pa.RecordBatch) -> pa.Table:
        """The full nodes of a batch of accounts or content rows (NODE_SCHEMAS, `bare` false)."""
        kind = NODE_TABLES[table]
        t = pa.Table.from_batches([batch])
        t = t.append_column("bare", pa.repeat(pa.scalar(False), t.num_rows))
        return t.select(NODE_SCHEMAS[kind].names)

    @staticmethod
    def edges(table: str, batch: pa.RecordBatch) -> pa.Table:
        """The edges (EDGE_SCHEMA) of a batch of follows or links rows."""
        if table == "links":  # staged links carry the edge columns already
            return pa.Table.from_batches([batch]).select(EDGE_SCHEMA.names)
        n = batch.num_rows
        follows = RelType.FOLLOWS
        return pa.Table.from_arrays(
            [
                pa.repeat("account", n),
                batch.column("follower_id"),
                pa.repeat(follows.value, n),
                pa.repeat(STRUCTURAL_KIND[follows], n),
                pa.repeat("account", n),
                batch.column("followee_id"),
                batch.column("created_at"),
                batch.column("props"),
            ],
            schema=EDGE_SCHEMA,
        )

    def bare_ids(self, table: str, kind: NodeKind) -> Iterator[pa.Array]:
        """Ids of `kind` that `table` references and no table defines (distinct, any order)."""
        for batch in self._stream(f"SELECT id FROM bare WHERE tbl = '{table}' AND kind = '{NodeKind(kind).value}'"):
            yield batch.column(0)

    def url_nodes(self) -> Iterator[pa.Table]:
        """Url nodes (url, domain) of the links."""
        for batch in self._stream(
            "SELECT dst_id AS url, min(domain) AS domain FROM final_links WHERE dst_kind = 'url' GROUP BY dst_id"
        ):
            yield pa.Table.from_batches([batch])

    def hashtag_nodes(self) -> Iterator[pa.Table]:
        """Hashtag nodes (tag) of the links."""
        for batch in self._stream("SELECT DISTINCT dst_id AS tag FROM final_links WHERE dst_kind = 'hashtag'"):
            yield pa.Table.from_batches([batch])

    def content_edges(self) -> Iterator[pa.Table]:
        """The edges content implies (EDGE_SCHEMA): who posted it (POSTED), what it replies to (REPLY_TO)."""
        posted, reply = RelType.POSTED, RelType.REPLY_TO
        for batch in self._stream(f"""
                SELECT 'account' AS src_kind, account_id AS src_id, '{posted.value}' AS type,
                       '{STRUCTURAL_KIND[posted]}' AS kind, 'content' AS dst_kind, content_id AS dst_id,
                       created_at, CAST(NULL AS VARCHAR) AS props FROM final_content
                UNION ALL
                SELECT 'content', content_id, '{reply.value}', '{STRUCTURAL_KIND[reply]}', 'content', parent_id,
                       created_at, NULL FROM final_content WHERE parent_id IS NOT NULL"""):
            yield pa.Table.from_batches([batch])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

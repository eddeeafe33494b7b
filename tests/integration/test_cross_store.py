"""Cross-store equivalence: one synthetic snapshot ingested into Neo4j and into the embedded store
gives byte-identical results.json (clusters, pathways, flagged accounts, digest and all).

The dev/CI Neo4j may be shared, so every id of the snapshot gets a unique prefix, the detectors see
only that prefix (a read-only filtering view over each store, identical for both), and everything
written under the prefix is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from detectors.runner import run_detectors
from graph.embedded import EmbeddedStore
from graph.model import NodeKind, RelType
from graph.store import GraphStore, StoreConfig, open_store
from ingest.pipeline import load_snapshot
from synth import synth

#: snapshot columns holding account or content ids
ID_COLUMNS = {
    "accounts": ["account_id"],
    "content": ["content_id", "account_id", "parent_id"],
    "follows": ["follower_id", "followee_id"],
    "links": ["src_id"],
}


def _prefixed(col: pa.ChunkedArray, p: str) -> pa.ChunkedArray:
    return pc.if_else(pc.is_null(col), col, pc.binary_join_element_wise(p, col.cast(pa.string()), ""))


def prefix_snapshot(src: Path, dst: Path, p: str) -> None:
    """Copy a Parquet snapshot with every id under `p` (URLs get it in their host, hashtags in front)."""
    dst.mkdir(parents=True)
    for table, cols in ID_COLUMNS.items():
        t = pq.read_table(src / f"{table}.parquet")
        for c in cols:
            t = t.set_column(t.schema.get_field_index(c), c, _prefixed(t.column(c), p))
        if table == "links":
            kind, dst_id = t.column("dst_kind"), t.column("dst_id").cast(pa.string())
            url = pc.replace_substring_regex(dst_id, "^([A-Za-z][A-Za-z0-9+.-]*://)", rf"\1{p}", max_replacements=1)
            tag = _prefixed(pc.utf8_ltrim(dst_id, "#"), p)
            new = pc.if_else(
                pc.equal(kind, "url"), url, pc.if_else(pc.equal(kind, "hashtag"), tag, _prefixed(dst_id, p))
            )
            t = t.set_column(t.schema.get_field_index("dst_id"), "dst_id", new)
        pq.write_table(t, dst / f"{table}.parquet")


class PrefixView:
    """What `run_detectors` reads of a store, restricted to ids under one prefix."""

    def __init__(self, store: GraphStore, p: str) -> None:
        self.store, self.p = store, p

    def node_table(self, kind: NodeKind) -> pa.Table:
        t = self.store.node_table(kind)
        col = t.column(NodeKind(kind).key)
        keep = pc.match_substring(col, f"://{self.p}") if kind == NodeKind.URL else pc.starts_with(col, self.p)
        return t.filter(keep)

    def edge_table(
        self,
        types: Iterable[RelType] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        ordered: bool = True,
    ) -> pa.Table:
        t = self.store.edge_table(types, since, until, ordered=ordered)
        return t.filter(pc.starts_with(t.column("src_id"), self.p))  # sources are accounts or content

    def save_run(self, run_id: str, record: dict[str, Any], results: bytes | None = None) -> None:
        self.store.save_run(run_id, record, results)


def wipe(store: GraphStore, p: str) -> None:
    driver, db = store._driver, store.database  # type: ignore[attr-defined]
    for kind in NodeKind:
        op = "CONTAINS" if kind == NodeKind.URL else "STARTS WITH"
        value = f"://{p}" if kind == NodeKind.URL else p
        driver.execute_query(
            f"MATCH (n:{kind.label}) WHERE n.{kind.key} {op} $v DETACH DELETE n", v=value, database_=db
        )
    driver.execute_query("MATCH (n:Run) WHERE n.run_id STARTS WITH $p DELETE n", p=p, database_=db)


@pytest.mark.neo4j
def test_neo4j_and_embedded_give_byte_identical_results(neo4j_config: StoreConfig, tmp_path: Path) -> None:
    p = f"xs{uuid.uuid4().hex[:10]}-"
    synth(tmp_path / "raw", accounts=1000, seed=11)
    prefix_snapshot(tmp_path / "raw", tmp_path / "snapshot", p)
    embedded = EmbeddedStore(tmp_path / "graph.duckdb")
    neo4j = open_store(
        StoreConfig(
            url=neo4j_config.url,
            neo4j_user=neo4j_config.neo4j_user,
            neo4j_password=neo4j_config.neo4j_password,
            neo4j_database=neo4j_config.neo4j_database,
            batch_size=5_000,
        )
    )
    try:
        results = {}
        for name, store in (("embedded", embedded), ("neo4j", neo4j)):
            store.ensure_schema()
            report = load_snapshot(tmp_path / "snapshot", store, quarantine_dir=tmp_path / f"q-{name}")
            record = run_detectors(
                PrefixView(store, p),
                runs_dir=tmp_path / f"runs-{name}",  # type: ignore[arg-type]
                run_id=f"{p}run",
            )
            results[name] = (record, (Path(record.run_dir or "") / "results.json").read_bytes(), report)
        (e_rec, e_bytes, e_rep), (n_rec, n_bytes, n_rep) = results["embedded"], results["neo4j"]
        assert e_rep.digest == n_rep.digest is not None  # the same input went into both
        assert e_rec.counts["pathways"] > 0 and e_rec.counts["clusters"] > 0  # not vacuous
        assert e_rec.counts["nodes"] == n_rec.counts["nodes"] > 6000  # every prefixed node, no others
        assert e_rec.snapshot_digest == n_rec.snapshot_digest
        assert e_bytes == n_bytes
        assert e_rec.results_sha256 == n_rec.results_sha256
        assert neo4j.get_results(f"{p}run") == e_bytes
    finally:
        wipe(neo4j, p)
        neo4j.close()
        embedded.close()

"""EmbeddedStore finds rows by a 64-bit hash of their key; these tests make the hash useless
(every key colliding) or stale (another DuckDB version) and check that no two rows ever merge."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import graph.embedded as embedded
from graph.embedded import EmbeddedStore
from graph.model import EDGE_SCHEMA, NodeKind


def follows(pairs: list[tuple[str, str, str | None]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "src_kind": "account",
                "src_id": s,
                "type": "FOLLOWS",
                "kind": "follow",
                "dst_kind": "account",
                "dst_id": d,
                "props": p,
            }
            for s, d, p in pairs
        ],
        schema=EDGE_SCHEMA,
    )


def state(store: EmbeddedStore) -> tuple[set, set]:
    nodes = {(r["account_id"], r["age_band"], r["bare"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()}
    edges = {(r["src_id"], r["dst_id"], r["props"]) for r in store.edge_table().to_pylist()}
    return nodes, edges


def test_colliding_hashes_never_merge_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_hash", lambda keys, alias="": "CAST(7 AS UBIGINT)")  # every key collides
    store = EmbeddedStore(tmp_path / "g.duckdb")
    store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": ["a", "b"], "age_band": ["minor", "adult"]}))
    assert store.ensure_nodes(NodeKind.ACCOUNT, ["a", "c", "d"]) == 2
    store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": ["b", "d", "b"], "age_band": ["x", "y", "unknown"]}))
    store.upsert_edges(follows([("a", "b", None), ("b", "a", None), ("a", "b", '{"n":2}')]))
    store.upsert_edges(follows([("b", "a", '{"n":3}'), ("c", "d", None)]))

    assert state(store) == (
        {("a", "minor", False), ("b", "unknown", False), ("c", None, True), ("d", "y", False)},
        {("a", "b", '{"n":2}'), ("b", "a", '{"n":3}'), ("c", "d", None)},
    )
    store.close()


def test_a_changed_hash_function_is_detected_and_keys_rehashed(tmp_path: Path) -> None:
    path = tmp_path / "g.duckdb"
    store = EmbeddedStore(path)
    store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": ["a", "b"], "age_band": ["minor", "adult"]}))
    store.upsert_edges(follows([("a", "b", None)]))
    store.close()
    with duckdb.connect(str(path)) as con:  # as if written by a DuckDB whose hash() differs
        con.execute("UPDATE account SET h = h + 1")
        con.execute("UPDATE edges SET h = h + 1")
        con.execute("UPDATE meta SET value = 'another-hash' WHERE name = 'hash_probe'")

    store = EmbeddedStore(path)
    store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": ["a"], "age_band": ["adult"]}))
    store.upsert_edges(follows([("a", "b", '{"n":1}')]))
    assert state(store) == ({("a", "adult", False), ("b", "adult", False)}, {("a", "b", '{"n":1}')})
    store.close()

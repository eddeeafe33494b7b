"""EmbeddedStore's in-memory snapshot (graph.adjacency) answers exactly as its SQL path, and a
graph write is visible to the next read. Synthetic graph built here."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest

from graph.embedded import EmbeddedStore
from graph.errors import NotFound
from graph.model import NodeKind

A, C, U, H = NodeKind.ACCOUNT, NodeKind.CONTENT, NodeKind.URL, NodeKind.HASHTAG
# ids chosen so that case, accents and shared ids across kinds all matter for the order
NAMES = ["a", "B", "z", "é", "Zed", "x1", "x10", "x2", "ñ", "日本", "a b", "hub"]


def sql_path(store: EmbeddedStore) -> None:
    store._snapshot = lambda: None  # type: ignore[method-assign]


def random_graph(store: EmbeddedStore, seed: int) -> dict[NodeKind, list[str]]:
    rng = random.Random(seed)
    ids = {
        A: NAMES + [f"acc{i}" for i in range(40)],
        C: NAMES[:6] + [f"post{i}" for i in range(30)],
        U: ["https://x.test/1", "https://x.test/2", "a"],
        H: ["kids", "a", "z"],
    }
    store.upsert_nodes(
        A,
        pa.table(
            {
                "account_id": ids[A][::2],
                "age_band": ["adult"] * len(ids[A][::2]),
                "props": ['{"n": 1}'] * len(ids[A][::2]),
            }
        ),
    )
    for kind, keys in ids.items():
        store.ensure_nodes(kind, keys)
    rels = [
        ("account", "FOLLOWS", "follow", "account"),
        ("account", "POSTED", "posted", "content"),
        ("content", "MENTIONS", "mention", "account"),
        ("content", "LINKS_TO", "url", "url"),
        ("content", "TAGGED", "hashtag", "hashtag"),
        ("account", "REFERENCES", "zzz", "content"),
        ("account", "REFERENCES", "Ähm", "content"),
    ]
    rows = []
    for _ in range(400):
        sk, t, k, dk = rng.choice(rels)
        src = "hub" if sk == "account" and rng.random() < 0.2 else rng.choice(ids[NodeKind(sk)])
        rows.append((sk, src, t, k, dk, rng.choice(ids[NodeKind(dk)])))
    store.upsert_edges(pa.table(dict(zip(["src_kind", "src_id", "type", "kind", "dst_kind", "dst_id"], zip(*rows)))))
    return ids


def test_snapshot_answers_as_sql(tmp_path: Path) -> None:
    fast = EmbeddedStore(tmp_path / "g.duckdb")
    ids = random_graph(fast, 1)
    cases = [
        (kind, i, hops, limit)
        for kind in (A, C, U)
        for i in ids[kind][:5]
        for hops, limit in [(0, 500), (1, 500), (2, 9), (3, 1), (4, 500)]
    ]
    got = [fast.neighbourhood(*c[:2], hops=c[2], limit=c[3]) for c in cases]
    nodes = [fast.get_node(kind, i) for kind in (A, C, U, H) for i in ids[kind]]
    assert fast._adjacency is not None  # the snapshot path was used
    sql_path(fast)
    assert got == [fast.neighbourhood(*c[:2], hops=c[2], limit=c[3]) for c in cases]
    assert nodes == [fast.get_node(kind, i) for kind in (A, C, U, H) for i in ids[kind]]
    assert any(g["truncated"] for g in got) and any(len(g["edges"]) > 10 for g in got)
    fast.close()


def test_writes_invalidate_the_snapshot(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "g.duckdb")
    store.ensure_nodes(A, ["a", "b", "c"])
    store.upsert_edges(
        pa.table(
            {
                "src_kind": ["account"],
                "src_id": ["a"],
                "type": ["FOLLOWS"],
                "kind": ["follow"],
                "dst_kind": ["account"],
                "dst_id": ["b"],
            }
        )
    )
    assert [n["id"] for n in store.neighbourhood(A, "a")["nodes"]] == ["a", "b"]
    assert store.get_node(A, "c")["bare"] is True

    store.upsert_edges(
        pa.table(
            {
                "src_kind": ["account"],
                "src_id": ["c"],
                "type": ["FOLLOWS"],
                "kind": ["follow"],
                "dst_kind": ["account"],
                "dst_id": ["a"],
            }
        )
    )
    store.upsert_nodes(A, pa.table({"account_id": ["c"], "status": ["active"]}))
    hood = store.neighbourhood(A, "a")
    assert [n["id"] for n in hood["nodes"]] == ["a", "b", "c"]
    assert {(e["src_id"], e["dst_id"]) for e in hood["edges"]} == {("a", "b"), ("c", "a")}
    assert store.get_node(A, "c")["status"] == "active" and store.get_node(A, "c")["bare"] is False

    store.ensure_nodes(A, ["d"])
    assert store.get_node(A, "d")["bare"] is True
    with pytest.raises(NotFound):
        store.get_node(A, "e")
    with pytest.raises(NotFound):
        store.neighbourhood(C, "a")
    store.close()

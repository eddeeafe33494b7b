"""Both backends, given the same writes, give back byte-identical Arrow tables and equal answers."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from graph.model import (
    ACCOUNT_SCHEMA,
    CONTENT_SCHEMA,
    EDGE_SCHEMA,
    URL_SCHEMA,
    NodeKind,
    RelType,
)
from graph.store import GraphStore
from tests.contract.conftest import Scope, make_store, utc, wipe_prefix


def ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return sink.getvalue().to_pybytes()


def synthetic_writes(store: GraphStore, p: str) -> None:
    """A small synthetic graph (seeded) with unicode ids, nulls, props, duplicates and dangling ids."""
    rnd = random.Random(7)
    t0 = utc(2026, 1, 1)
    accounts = [f"{p}acc-{i:03d}" for i in range(60)] + [f"{p}ünï-ç", f"{p}Zed", f"{p}zed"]
    store.upsert_nodes(
        NodeKind.ACCOUNT,
        pa.Table.from_pylist(
            [
                {
                    "account_id": a,
                    "created_at": t0 + timedelta(seconds=rnd.randrange(10**7), microseconds=rnd.randrange(10**6)),
                    "age_band": rnd.choice(["minor", "adult", "unknown", None]),
                    "status": rnd.choice(["active", None]),
                    "props": rnd.choice([None, '{"bio":"synthetic ✓"}']),
                }
                for a in accounts + accounts[:5]
            ],
            schema=ACCOUNT_SCHEMA,
        ),
    )
    content = [f"{p}c{i}" for i in range(80)]
    store.upsert_nodes(
        NodeKind.CONTENT,
        pa.Table.from_pylist(
            [
                {
                    "content_id": c,
                    "account_id": rnd.choice(accounts),
                    "created_at": None if i % 7 == 0 else t0 + timedelta(days=i),
                    "kind": rnd.choice(["post", "video", "comment"]),
                    "parent_id": None,
                    "label": rnd.choice(["child_oriented", "abusive", "none"]),
                    "label_source": "classifier:v3",
                    "label_confidence": rnd.random(),
                }
                for i, c in enumerate(content)
            ],
            schema=CONTENT_SCHEMA,
        ),
    )
    urls = [f"{p}https://ex{i}.test/" for i in range(5)]
    store.upsert_nodes(
        NodeKind.URL, pa.table({"url": urls, "domain": [f"ex{i}.test" for i in range(5)]}, schema=URL_SCHEMA)
    )
    dangling = [f"{p}gone-{i}" for i in range(4)]
    store.ensure_nodes(NodeKind.ACCOUNT, accounts + dangling)
    store.ensure_nodes(NodeKind.HASHTAG, [f"{p}tag{i}" for i in range(3)])
    rows = []
    for _ in range(400):
        rows.append(
            (
                "account",
                rnd.choice(accounts + dangling),
                "FOLLOWS",
                "follow",
                "account",
                rnd.choice(accounts),
                rnd.choice([None, t0 + timedelta(hours=rnd.randrange(9000))]),
                None,
            )
        )
    for c in content:
        rows.append(("account", rnd.choice(accounts), "POSTED", "posted", "content", c, t0, None))
        rows.append(
            (
                "content",
                c,
                rnd.choice(["TAGGED", "REFERENCES"]),
                rnd.choice(["hashtag", "quote"]),
                "hashtag",
                f"{p}tag{rnd.randrange(3)}",
                None,
                '{"pos":1}',
            )
        )
        rows.append(("content", c, "LINKS_TO", "url", "url", rnd.choice(urls), t0 + timedelta(days=3), None))
    store.upsert_edges(pa.Table.from_pylist([dict(zip(EDGE_SCHEMA.names, r)) for r in rows], schema=EDGE_SCHEMA))
    store.upsert_edges(pa.Table.from_pylist([dict(zip(EDGE_SCHEMA.names, r)) for r in rows[:50]], schema=EDGE_SCHEMA))
    store.save_run(f"{p}run-b", {"started_at": "2026-05-02T00:00:00+00:00", "detectors": ["x"]}, b'{"run": "b"}')
    store.save_run(f"{p}run-a", {"started_at": "2026-05-03T00:00:00+00:00"})


@pytest.mark.neo4j
def test_both_backends_give_identical_answers(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    embedded = make_store("embedded", tmp_path, request)
    neo4j = make_store("neo4j", tmp_path, request, batch_size=97, write_concurrency=2)  # the threaded write path
    p = Scope(neo4j).prefix  # one prefix for both, so ids are equal
    try:
        for store in (embedded, neo4j):
            synthetic_writes(store, p)

        def mine(table: pa.Table, col: str) -> pa.Table:
            return table.filter(pc.starts_with(table.column(col), p))

        for kind in NodeKind:
            e, n = mine(embedded.node_table(kind), kind.key), mine(neo4j.node_table(kind), kind.key)
            assert e.num_rows > 0
            assert ipc_bytes(e) == ipc_bytes(n), kind
        for args in [(), ([RelType.FOLLOWS, RelType.LINKS_TO],), (None, utc(2026, 1, 2), utc(2026, 6, 1))]:
            e, n = mine(embedded.edge_table(*args), "src_id"), mine(neo4j.edge_table(*args), "src_id")
            assert e.num_rows > 0
            assert ipc_bytes(e) == ipc_bytes(n), args
        for kind, node_id in [
            (NodeKind.ACCOUNT, f"{p}ünï-ç"),
            (NodeKind.CONTENT, f"{p}c3"),
            (NodeKind.ACCOUNT, f"{p}gone-1"),
        ]:
            assert embedded.get_node(kind, node_id) == neo4j.get_node(kind, node_id)
            for hops, limit in [(1, 500), (2, 500), (3, 40)]:
                assert embedded.neighbourhood(kind, node_id, hops, limit) == neo4j.neighbourhood(
                    kind, node_id, hops, limit
                )
        assert [r for r in embedded.list_runs() if r["run_id"].startswith(p)] == [
            r for r in neo4j.list_runs() if r["run_id"].startswith(p)
        ]
        assert embedded.get_results(f"{p}run-b") == neo4j.get_results(f"{p}run-b") == b'{"run": "b"}'
    finally:
        wipe_prefix(neo4j, p)
        embedded.close()
        neo4j.close()

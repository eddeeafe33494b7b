"""The projection: canonical vids, vectorised edge mapping, digest, options and the Parquet freeze."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from graph.errors import DetectorError
from graph.model import EDGE_KEY, EDGE_SCHEMA, NodeKind, RelType
from graph.projection import KIND_CODE, REL_TYPES, Projection, build_projection, project
from graph.store import StoreConfig, open_store
from tests.unit.test_detectors import toy_graph


class MemoryStore:
    """Just the reads `project` uses, with the store's filtering semantics."""

    def __init__(self, tables: dict[NodeKind, pa.Table], edges: pa.Table) -> None:
        self.tables, self.edges = tables, edges

    def node_table(self, kind: NodeKind) -> pa.Table:
        return self.tables[kind]

    def edge_table(self, types=None, since=None, until=None, *, ordered=True) -> pa.Table:
        rows = self.edges.to_pylist()
        if not ordered:
            rows.reverse()  # "any order"
        if types is not None:
            wanted = {RelType(t).value for t in types}
            rows = [r for r in rows if r["type"] in wanted]
        if since is not None:
            rows = [r for r in rows if r["created_at"] is None or r["created_at"] >= since]
        if until is not None:
            rows = [r for r in rows if r["created_at"] is None or r["created_at"] < until]
        return pa.Table.from_pylist(rows, schema=EDGE_SCHEMA)


def _edge_set(p: Projection) -> set[tuple[str, str, str, str, str]]:
    return {
        (p.node_kind(s), p.node_id(s), p.rel_type(t), p.node_kind(d), p.node_id(d))
        for s, d, t in zip(p.src.tolist(), p.dst.tolist(), p.etype.tolist())
    }


def test_vids_are_canonical_and_edges_preserved() -> None:
    tables, edges = toy_graph().tables()
    p = build_projection(tables, edges)
    assert p.n_nodes == sum(t.num_rows for t in tables.values())
    assert p.n_edges == edges.num_rows and p.dropped_edges == 0
    for i, k in enumerate((NodeKind.ACCOUNT, NodeKind.CONTENT, NodeKind.URL, NodeKind.HASHTAG)):
        block = p.ids.slice(p.offsets[i], p.offsets[i + 1] - p.offsets[i]).to_pylist()
        assert block == sorted(tables[k].column(k.key).to_pylist())
        assert set(p.kind[p.offsets[i] : p.offsets[i + 1]].tolist()) <= {i}
    stored = {(r["src_kind"], r["src_id"], r["type"], r["dst_kind"], r["dst_id"]) for r in edges.to_pylist()}
    assert _edge_set(p) == stored
    # edges sorted by src, then dst
    key = p.src.astype(np.int64) * p.n_nodes + p.dst
    assert np.all(np.diff(key) >= 0)


def test_attributes() -> None:
    p = toy_graph().projection()
    cp1 = p.vid("content", "cp1")
    assert p.label[cp1] == 1 and p.author[cp1] == p.vid("account", "kid1")
    assert p.parent[p.vid("content", "cm1")] == cp1
    assert p.label_confidence[p.vid("content", "ab0")] == pytest.approx(0.9)
    assert p.age_band[p.vid("account", "kid1")] == 1 and p.age_band[p.vid("account", "m1")] == 2
    assert p.kind[p.vid("url", "https://invite.example/join/x1")] == KIND_CODE["url"]
    assert p.content_kind_of(cp1) == "video"
    with pytest.raises(DetectorError):
        p.vid("account", "nobody")


def test_row_order_does_not_change_projection() -> None:
    tables, edges = toy_graph().tables()
    a = build_projection(tables, edges)
    rng = np.random.default_rng(3)
    shuffled = {k: t.take(pa.array(rng.permutation(t.num_rows))) for k, t in tables.items()}
    b = build_projection(shuffled, edges.take(pa.array(rng.permutation(edges.num_rows))))
    assert a.digest == b.digest
    assert np.array_equal(a.src, b.src) and np.array_equal(a.dst, b.dst)


_ARRAYS = (
    "offsets",
    "kind",
    "age_band",
    "status",
    "label",
    "label_confidence",
    "author",
    "parent",
    "src",
    "dst",
    "etype",
    "created_at",
)


def _assert_identical(a: Projection, b: Projection) -> None:
    assert a.digest == b.digest
    assert a.dropped_edges == b.dropped_edges
    for name in _ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(np.asarray(x), np.asarray(y)) and np.asarray(x).dtype == np.asarray(y).dtype, name
    for name in ("ids", "content_kind", "domain"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_unordered_store_read_gives_the_identical_projection(tmp_path: Path) -> None:
    """`project` reads edges with ordered=False; the projection (arrays and digest) must equal the one
    built from the store's EDGE_KEY-sorted edge table, including parallel edges between one pair."""
    tables, edges = toy_graph().tables()
    rng = np.random.default_rng(7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    days = rng.integers(1, 29, edges.num_rows).tolist()
    times = [None if i % 5 == 0 else t0.replace(day=d) for i, d in enumerate(days)]
    edges = edges.set_column(
        edges.schema.get_field_index("created_at"), "created_at", pa.array(times, EDGE_SCHEMA.field("created_at").type)
    )
    # parallel edges m1 -> m2: other types, another kind of the same type, later and undated ones
    par = [
        ("MENTIONS", "mention", t0.replace(day=3)),
        ("SHARES", "share", None),
        ("REFERENCES", "quote", t0),
        ("REFERENCES", "embed", t0.replace(day=9)),
        ("REPLIES", "reply", t0.replace(day=2)),
    ]
    extra = pa.Table.from_pylist(
        [
            {
                "src_kind": "account",
                "src_id": "m1",
                "type": t,
                "kind": k,
                "dst_kind": "account",
                "dst_id": "m2",
                "created_at": c,
            }
            for t, k, c in par
        ],
        schema=EDGE_SCHEMA,
    )
    edges = pa.concat_tables([edges, extra])
    shuffled = edges.take(pa.array(rng.permutation(edges.num_rows)))
    with open_store(StoreConfig(url=f"embedded:{tmp_path / 'g.duckdb'}")) as store:
        store.ensure_schema()
        for k, t in tables.items():
            store.upsert_nodes(k, t)
        for i in range(0, shuffled.num_rows, 17):  # written shuffled, in several batches
            store.upsert_edges(shuffled.slice(i, 17))
        sorted_rows = store.edge_table()
        any_order = store.edge_table(ordered=False)
        assert any_order.schema == EDGE_SCHEMA and sorted_rows.num_rows == edges.num_rows
        assert any_order.sort_by([(k, "ascending") for k in EDGE_KEY]).equals(sorted_rows)
        node_tables = {k: store.node_table(k) for k in tables}
        for opts in (
            {},
            {"since": t0.replace(day=5), "until": t0.replace(day=20)},
            {"edge_types": [RelType.FOLLOWS, RelType.REFERENCES]},
        ):
            types = opts.get("edge_types")
            old = build_projection(
                node_tables,
                store.edge_table(types, opts.get("since"), opts.get("until")),
                project(store, **opts).options,
            )
            new = project(store, **opts)
            assert new.n_edges > 0
            _assert_identical(old, new)
            # and from rows in an order no store would produce
            rev = store.edge_table(types, opts.get("since"), opts.get("until"), ordered=False)
            _assert_identical(
                old, build_projection(node_tables, rev.take(pa.array(rng.permutation(rev.num_rows))), new.options)
            )


def test_digest_sees_every_change() -> None:
    g = toy_graph()
    base = g.projection().digest
    g.follow("m1", "kid1")
    assert g.projection().digest != base
    g2 = toy_graph()
    g2.content[0] = (*g2.content[0][:4], "none", 1.0)  # a label disappears
    assert g2.projection().digest != base


def test_unknown_endpoint_edges_are_dropped_and_counted() -> None:
    tables, edges = toy_graph().tables()
    extra = pa.Table.from_pylist(
        [
            {
                "src_kind": "account",
                "src_id": "ghost",
                "type": "FOLLOWS",
                "kind": "follow",
                "dst_kind": "account",
                "dst_id": "m1",
            }
        ],
        schema=EDGE_SCHEMA,
    )
    p = build_projection(tables, pa.concat_tables([edges, extra]))
    assert p.dropped_edges == 1 and p.n_edges == edges.num_rows


def test_parquet_freeze_round_trip(tmp_path: Path) -> None:
    p = toy_graph().projection()
    p.to_parquet(tmp_path / "proj")
    q = Projection.from_parquet(tmp_path / "proj")
    assert q.digest == p.digest
    assert q.ids.to_pylist() == p.ids.to_pylist()
    assert np.array_equal(q.created_at, p.created_at)
    (tmp_path / "proj" / "projection.json").write_text(
        (tmp_path / "proj" / "projection.json").read_text().replace(p.digest, "0" * 64)
    )
    with pytest.raises(DetectorError):
        Projection.from_parquet(tmp_path / "proj")


def test_project_with_window_and_types() -> None:
    tables, edges = toy_graph().tables()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = [t0.replace(day=1 + (i % 28)) for i in range(edges.num_rows)]
    edges = edges.set_column(
        edges.schema.get_field_index("created_at"), "created_at", pa.array(times, EDGE_SCHEMA.field("created_at").type)
    )
    store = MemoryStore(tables, edges)
    full = project(store)
    win = project(store, since=t0.replace(day=5), until=t0.replace(day=10))
    assert 0 < win.n_edges < full.n_edges
    lo, hi = int(t0.replace(day=5).timestamp() * 1e6), int(t0.replace(day=10).timestamp() * 1e6)
    assert np.all((win.created_at >= lo) & (win.created_at < hi))
    assert win.digest != full.digest
    fol = project(store, edge_types=[RelType.FOLLOWS])
    assert set(fol.etype.tolist()) == {REL_TYPES.index(RelType.FOLLOWS)}
    assert fol.options.edge_types == ("FOLLOWS",)


def test_to_igraph_matches() -> None:
    p = toy_graph().projection()
    g = p.to_igraph()
    assert g.vcount() == p.n_nodes and g.ecount() == p.n_edges and g.is_directed()
    e = g.es[0]
    assert (e.source, e.target) == (int(p.src[0]), int(p.dst[0])) and e["type"] == p.rel_type(p.etype[0])

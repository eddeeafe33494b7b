"""The GraphStore contract, run against every backend (EmbeddedStore and the real Neo4j)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from graph.errors import NotFound, StoreError
from graph.model import (
    ACCOUNT_SCHEMA,
    CONTENT_SCHEMA,
    EDGE_KEY,
    EDGE_SCHEMA,
    HASHTAG_SCHEMA,
    URL_SCHEMA,
    NodeKind,
    RelType,
)
from graph.store import GraphStore
from tests.contract.conftest import Scope, edges, utc

A, C = NodeKind.ACCOUNT, NodeKind.CONTENT


def accounts(scope: Scope, rows: list[tuple]) -> pa.Table:
    """(id, created_at, age_band, status, props) tuples, ids prefixed."""
    return pa.table(
        {
            "account_id": [scope(r[0]) for r in rows],
            "created_at": pa.array([r[1] for r in rows], ACCOUNT_SCHEMA.field("created_at").type),
            "age_band": [r[2] for r in rows],
            "status": [r[3] for r in rows],
            "props": pa.array([r[4] for r in rows], pa.string()),
        }
    )


class TestStoreContract:
    def test_nodes_round_trip_in_schema_sorted_by_key(self, store: GraphStore, scope: Scope) -> None:
        rows = [
            ("c", utc(2026, 3, 1, 12, 0, 0), "minor", "active", '{"bio":"x"}'),
            ("a", None, "adult", None, None),
            ("b", utc(1969, 12, 31, 23, 59, 59), None, "deleted", None),
        ]
        assert store.upsert_nodes(A, accounts(scope, rows)) == 3

        table = scope.nodes(A)
        assert table.schema == ACCOUNT_SCHEMA
        assert table.column("account_id").to_pylist() == [scope("a"), scope("b"), scope("c")]
        assert scope.node_set(A) == {(scope(i), ts, age, st, p, False) for i, ts, age, st, p in rows}

    def test_timestamps_keep_microseconds(self, store: GraphStore, scope: Scope) -> None:
        ts = pa.array([1_772_366_400_123_457, -1], pa.timestamp("us", tz="UTC"))
        store.upsert_nodes(A, pa.table({"account_id": [scope("x"), scope("y")], "created_at": ts}))
        assert scope.nodes(A).column("created_at").cast(pa.int64()).to_pylist() == [1_772_366_400_123_457, -1]

    def test_same_rows_twice_change_nothing(self, store: GraphStore, scope: Scope, follow) -> None:
        store.upsert_nodes(A, accounts(scope, [("a", None, "adult", None, None), ("b", None, "minor", None, None)]))
        store.upsert_edges(edges([follow("a", "b", utc(2026, 1, 1)), follow("b", "a")]))
        before = (scope.node_set(A), scope.edge_set())

        store.upsert_nodes(A, accounts(scope, [("a", None, "adult", None, None), ("b", None, "minor", None, None)]))
        store.upsert_edges(edges([follow("a", "b", utc(2026, 1, 1)), follow("b", "a")]))

        assert (scope.node_set(A), scope.edge_set()) == before
        assert len(before[1]) == 2

    def test_counts_count_nodes_per_label_and_edges_per_type(self, store: GraphStore, scope: Scope) -> None:
        # counts() is database-wide; on a shared development Neo4j another writer can move the
        # numbers between our two reads, so a disturbed attempt is repeated with fresh ids.
        deltas = []
        for attempt in range(3):
            a, b, p1 = scope(f"{attempt}a"), scope(f"{attempt}b"), scope(f"{attempt}p1")
            before = store.counts()
            store.upsert_nodes(A, pa.table({"account_id": [a, b]}))
            store.ensure_nodes(C, [p1])
            store.upsert_edges(
                edges(
                    [
                        ("account", a, "FOLLOWS", "follow", "account", b),
                        ("account", a, "POSTED", "posted", "content", p1),
                    ]
                )
            )
            after = store.counts()
            assert set(after) == {k.label for k in NodeKind} | {t.value for t in RelType}
            deltas.append({k: after[k] - before[k] for k in after if after[k] != before[k]})
            if deltas[-1] == {"Account": 2, "Content": 1, "FOLLOWS": 1, "POSTED": 1}:
                break
        assert deltas[-1] == {"Account": 2, "Content": 1, "FOLLOWS": 1, "POSTED": 1}, deltas

    def test_last_row_wins_within_a_call_and_across_calls(self, store: GraphStore, scope: Scope, follow) -> None:
        store.upsert_nodes(
            A,
            accounts(
                scope,
                [
                    ("a", None, "minor", None, None),
                    ("b", None, None, None, None),
                    ("a", None, "adult", "active", '{"k":1}'),
                ],
            ),
        )
        assert scope.node_set(A) == {
            (scope("a"), None, "adult", "active", '{"k":1}', False),
            (scope("b"), None, None, None, None, False),
        }

        store.upsert_nodes(A, accounts(scope, [("a", None, "unknown", None, None)]))
        assert (scope("a"), None, "unknown", None, None, False) in scope.node_set(A)

        store.upsert_edges(edges([follow("a", "b", utc(2026, 1, 1)), follow("a", "b", utc(2026, 2, 1), '{"w":2}')]))
        store.upsert_edges(edges([follow("b", "a", utc(2026, 3, 1))]))
        store.upsert_edges(edges([follow("b", "a", utc(2026, 4, 1))]))
        assert scope.edge_set() == {follow("a", "b", utc(2026, 2, 1), '{"w":2}'), follow("b", "a", utc(2026, 4, 1))}

    def test_edge_identity_includes_kind(self, store: GraphStore, scope: Scope) -> None:
        store.ensure_nodes(C, [scope("c1")])
        store.ensure_nodes(A, [scope("a1")])
        rows = [
            ("content", scope("c1"), "REFERENCES", "quote", "account", scope("a1")),
            ("content", scope("c1"), "REFERENCES", "embed", "account", scope("a1")),
            ("content", scope("c1"), "MENTIONS", "mention", "account", scope("a1")),
        ]
        assert store.upsert_edges(edges(rows)) == 3
        assert scope.edge_set() == {(*r, None, None) for r in rows}

    def test_ensure_nodes_creates_bare_nodes_and_never_overwrites(self, store: GraphStore, scope: Scope) -> None:
        store.upsert_nodes(A, accounts(scope, [("a", utc(2026, 1, 1), "minor", "active", '{"p":1}')]))

        created = store.ensure_nodes(A, [scope("a"), scope("b"), scope("b"), None, ""])
        again = store.ensure_nodes(A, pa.array([scope("a"), scope("b"), scope("c")]))

        assert (created, again) == (1, 1)
        assert scope.node_set(A) == {
            (scope("a"), utc(2026, 1, 1), "minor", "active", '{"p":1}', False),
            (scope("b"), None, None, None, None, True),
            (scope("c"), None, None, None, None, True),
        }

    def test_a_later_full_row_clears_the_bare_flag(self, store: GraphStore, scope: Scope) -> None:
        store.ensure_nodes(C, [scope("p")])
        store.upsert_nodes(
            C,
            pa.table(
                {
                    "content_id": [scope("p")],
                    "account_id": [scope("a")],
                    "kind": ["video"],
                    "label": ["child_oriented"],
                    "label_confidence": [0.75],
                }
            ),
        )
        assert scope.node_set(C) == {
            (scope("p"), scope("a"), None, "video", None, "child_oriented", None, 0.75, None, False)
        }
        assert scope.nodes(C).schema == CONTENT_SCHEMA

    def test_url_and_hashtag_nodes(self, store: GraphStore, scope: Scope) -> None:
        store.upsert_nodes(NodeKind.URL, pa.table({"url": [scope("https://ex.test/a")], "domain": ["ex.test"]}))
        assert store.ensure_nodes(NodeKind.URL, [scope("https://ex.test/a"), scope("https://other.test/")]) == 1
        assert store.ensure_nodes(NodeKind.HASHTAG, [scope("kids"), scope("kids")]) == 1
        store.ensure_nodes(C, [scope("p")])
        store.upsert_edges(
            edges(
                [
                    ("content", scope("p"), "TAGGED", "hashtag", "hashtag", scope("kids")),
                    ("content", scope("p"), "LINKS_TO", "url", "url", scope("https://ex.test/a")),
                ]
            )
        )

        assert scope.nodes(NodeKind.URL).schema == URL_SCHEMA
        assert scope.node_set(NodeKind.URL) == {
            (scope("https://ex.test/a"), "ex.test"),
            (scope("https://other.test/"), None),
        }
        assert scope.nodes(NodeKind.HASHTAG).schema == HASHTAG_SCHEMA
        assert scope.node_set(NodeKind.HASHTAG) == {(scope("kids"),)}
        assert store.get_node(NodeKind.HASHTAG, scope("kids")) == {"tag": scope("kids")}
        assert {e[2] for e in scope.edge_set()} == {"TAGGED", "LINKS_TO"}

    def test_edge_with_a_missing_endpoint_is_refused(self, store: GraphStore, scope: Scope, follow) -> None:
        store.ensure_nodes(A, [scope("a")])
        with pytest.raises(StoreError, match="ensure_nodes"):
            store.upsert_edges(edges([follow("a", "ghost")]))
        assert scope.edge_set() == set()
        assert scope.node_set(A) == {(scope("a"), None, None, None, None, True)}

    def test_invalid_edges_are_refused(self, store: GraphStore, scope: Scope, follow) -> None:
        store.ensure_nodes(A, [scope("a"), scope("b")])
        bad_type = edges([follow("a", "b")]).set_column(2, "type", pa.array(["LIKES"]))
        bad_kind = edges([follow("a", "b")]).set_column(0, "src_kind", pa.array(["group"]))
        null_key = edges([follow("a", "b")]).set_column(3, "kind", pa.nulls(1, pa.string()))
        for table, msg in [(bad_type, "LIKES"), (bad_kind, "group"), (null_key, "kind")]:
            with pytest.raises(StoreError, match=msg):
                store.upsert_edges(table)
        assert scope.edge_set() == set()

    def test_edge_table_filters_by_type_and_time_window(self, store: GraphStore, scope: Scope, follow) -> None:
        store.ensure_nodes(A, [scope("a"), scope("b"), scope("c")])
        store.ensure_nodes(C, [scope("p")])
        early, mid, late = (
            follow("a", "b", utc(2026, 1, 1)),
            follow("b", "c", utc(2026, 6, 1)),
            follow("c", "a", utc(2027, 1, 1)),
        )
        undated = follow("a", "c")
        posted = ("account", scope("a"), "POSTED", "posted", "content", scope("p"), utc(2026, 6, 1), None)
        store.upsert_edges(edges([late, posted, undated, early, mid]))

        assert scope.edge_set() == {early, mid, late, undated, posted}
        assert scope.edge_set([RelType.POSTED]) == {posted}
        assert scope.edge_set(["FOLLOWS"], since=utc(2026, 1, 1), until=utc(2027, 1, 1)) == {early, mid, undated}
        assert scope.edge_set(since=utc(2026, 3, 1)) == {mid, late, undated, posted}
        assert scope.edge_set(until=utc(2026, 3, 1)) == {early, undated}
        assert scope.edge_set([]) == set()
        with pytest.raises(StoreError):
            store.edge_table(since=utc(2026, 3, 1), until=utc(2026, 3, 1))

    def test_edge_table_is_sorted_by_edge_key(self, store: GraphStore, scope: Scope, follow) -> None:
        store.ensure_nodes(A, [scope(x) for x in "abcd"])
        rows = [follow("d", "a"), follow("a", "d"), follow("a", "b"), follow("c", "a"), follow("b", "c")]
        store.upsert_edges(edges(rows))
        table = scope.edges()
        assert table.schema == EDGE_SCHEMA
        assert [(r["src_id"], r["dst_id"]) for r in table.to_pylist()] == sorted((r[1], r[5]) for r in rows)

    def test_edge_table_unordered_has_the_same_rows(self, store: GraphStore, scope: Scope, follow) -> None:
        store.ensure_nodes(A, [scope(x) for x in "abcd"])
        rows = [
            follow("d", "a", utc(2026, 2, 1)),
            follow("a", "d"),
            follow("a", "b", utc(2026, 5, 1)),
            follow("c", "a"),
            follow("b", "c", utc(2026, 8, 1)),
        ]
        store.upsert_edges(edges(rows))
        key = [(k, "ascending") for k in EDGE_KEY]
        for args in ((), (["FOLLOWS"], utc(2026, 3, 1))):
            table = scope.edges(*args, ordered=False)
            assert table.schema == EDGE_SCHEMA
            assert table.sort_by(key).equals(scope.edges(*args))
        assert scope.edges(ordered=False).num_rows == len(rows)

    def test_get_node_expands_props_and_raises_not_found(self, store: GraphStore, scope: Scope) -> None:
        store.upsert_nodes(A, accounts(scope, [("a", utc(2026, 3, 1), "minor", "active", '{"bio":"hi","n":2}')]))
        assert store.get_node(A, scope("a")) == {
            "account_id": scope("a"),
            "created_at": utc(2026, 3, 1),
            "age_band": "minor",
            "status": "active",
            "props": {"bio": "hi", "n": 2},
            "bare": False,
        }
        with pytest.raises(NotFound):
            store.get_node(A, scope("nobody"))
        with pytest.raises(NotFound):
            store.get_node(C, scope("a"))  # an account id is not a content id

    def test_neighbourhood_hops_limit_and_truncation(self, store: GraphStore, scope: Scope, follow) -> None:
        # a -> b -> c -> d, e -> a, a posted p
        store.ensure_nodes(A, [scope(x) for x in "abcde"])
        store.ensure_nodes(C, [scope("p")])
        posted = ("account", scope("a"), "POSTED", "posted", "content", scope("p"))
        store.upsert_edges(edges([follow("a", "b"), follow("b", "c"), follow("c", "d"), follow("e", "a"), posted]))

        def summary(hood: dict) -> tuple:
            return (
                [(n["kind"], n["id"], n["distance"]) for n in hood["nodes"]],
                {(e["src_id"], e["type"], e["dst_id"]) for e in hood["edges"]},
                hood["truncated"],
            )

        nodes, rels, truncated = summary(store.neighbourhood(A, scope("a"), hops=1))
        assert nodes == [
            ("account", scope("a"), 0),
            ("account", scope("b"), 1),
            ("account", scope("e"), 1),
            ("content", scope("p"), 1),
        ]
        assert rels == {
            (scope("a"), "FOLLOWS", scope("b")),
            (scope("e"), "FOLLOWS", scope("a")),
            (scope("a"), "POSTED", scope("p")),
        }
        assert truncated is False

        nodes, rels, truncated = summary(store.neighbourhood(A, scope("a"), hops=2))
        assert [n[1] for n in nodes] == [scope(x) for x in "abep"] + [scope("c")]
        assert (scope("b"), "FOLLOWS", scope("c")) in rels and truncated is False

        nodes, rels, truncated = summary(store.neighbourhood(A, scope("a"), hops=2, limit=3))
        assert nodes == [("account", scope("a"), 0), ("account", scope("b"), 1), ("account", scope("e"), 1)]
        assert rels == {(scope("a"), "FOLLOWS", scope("b")), (scope("e"), "FOLLOWS", scope("a"))}
        assert truncated is True

        hood = store.neighbourhood(A, scope("d"), hops=5)
        assert [n["id"] for n in hood["nodes"]] == [scope(x) for x in "dcbaep"] and hood["truncated"] is False
        assert hood["nodes"][0]["properties"] == store.get_node(A, scope("d"))
        assert hood["nodes"][-1]["properties"]["bare"] is True
        with pytest.raises(NotFound):
            store.neighbourhood(A, scope("nobody"))

    def test_run_records(self, store: GraphStore, scope: Scope) -> None:
        store.save_run(scope("r1"), {"started_at": "2026-05-01T10:00:00+00:00", "status": "succeeded"}, b'{"x": 1}\n')
        store.save_run(scope("r2"), {"started_at": "2026-05-02T10:00:00+00:00", "params": {"k": [1, 2]}})
        store.save_run(scope("r0"), {"started_at": "2026-05-02T10:00:00+00:00"})
        store.save_run(scope("r1"), {"started_at": "2026-05-01T10:00:00+00:00", "status": "final"})  # keeps results

        assert store.get_run(scope("r2")) == {
            "run_id": scope("r2"),
            "started_at": "2026-05-02T10:00:00+00:00",
            "params": {"k": [1, 2]},
        }
        assert store.get_run(scope("r1"))["status"] == "final"
        assert store.get_results(scope("r1")) == b'{"x": 1}\n'
        assert [r["run_id"] for r in scope.runs()] == [scope("r0"), scope("r2"), scope("r1")]
        with pytest.raises(NotFound):
            store.get_results(scope("r2"))
        with pytest.raises(NotFound):
            store.get_run(scope("nope"))
        with pytest.raises(NotFound):
            store.get_results(scope("nope"))
        with pytest.raises(StoreError):
            store.save_run(scope("bad"), {"x": object()})

    def test_concurrent_reads_from_threads(self, store: GraphStore, scope: Scope, follow) -> None:
        store.upsert_nodes(A, accounts(scope, [(f"a{i}", None, "adult", None, None) for i in range(20)]))
        store.upsert_edges(edges([follow(f"a{i}", f"a{(i + 1) % 20}") for i in range(20)]))

        def read(i: int) -> tuple:
            return (
                store.get_node(A, scope(f"a{i}"))["account_id"],
                len(store.neighbourhood(A, scope(f"a{i}"))["nodes"]),
                scope.nodes(A).num_rows if i % 5 == 0 else 20,
            )

        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(read, range(20)))
        assert got == [(scope(f"a{i}"), 3, 20) for i in range(20)]

    def test_props_json_is_returned_unchanged(self, store: GraphStore, scope: Scope, follow) -> None:
        props = json.dumps({"ünï": "✓", "list": [1, 2.5, None], "nested": {"z": True}}, sort_keys=True)
        store.upsert_nodes(A, accounts(scope, [("a", None, None, None, props), ("b", None, None, None, None)]))
        store.upsert_edges(edges([follow("a", "b", None, props)]))
        assert scope.nodes(A).column("props").to_pylist() == [props, None]
        assert scope.edges().column("props").to_pylist() == [props]
        assert store.get_node(A, scope("a"))["props"] == json.loads(props)

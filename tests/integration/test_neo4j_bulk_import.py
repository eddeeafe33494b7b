"""Bulk import with the real `neo4j-admin database import full` gives the same graph as the Bolt
path: node by node, edge by edge, the same projection digest and the same ingest report.

Needs a Neo4j it may stop and start, so it runs its own server (ops.neo4j_server) in a temporary
home on a free port, never the session's; it is marked `neo4j` like every test of a real server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.errors import ConfigError
from graph.model import NodeKind
from graph.neo4j_store import Neo4jStore
from graph.projection import project
from graph.store import StoreConfig
from ingest.pipeline import load_snapshot
from ops.neo4j_import import bulk_import
from ops.neo4j_server import ServerConfig, free_port, stop
from synth import synth

#: rows the generator never makes: quotes, commas, a line break and an empty string in a field,
#: and references to accounts and content the snapshot does not define (bare nodes)
EXTRA_ACCOUNTS = (
    "account_id,created_at,age_band,status,bio\n"
    'odd-1,2024-01-02T03:04:05Z,adult,active,"say ""hi"", then\nbye"\n'
    'odd-2,,minor,suspended,""\n'
)
EXTRA_FOLLOWS = "follower_id,followee_id,created_at\nodd-1,ghost-account,2024-02-03T04:05:06Z\nodd-2,odd-1,\n"
EXTRA_LINKS = "src_kind,src_id,dst_kind,dst_id,kind,created_at\naccount,odd-2,content,ghost-content,share,\n"


def _graph(store: Neo4jStore) -> tuple[dict[str, list[dict[str, object]]], list[dict[str, object]], str]:
    nodes = {k.value: store.node_table(k).to_pylist() for k in NodeKind}
    return nodes, store.edge_table().to_pylist(), project(store).digest


@pytest.mark.neo4j
def test_bulk_import_gives_the_bolt_graph(neo4j_config: StoreConfig, tmp_path: Path) -> None:
    snap = tmp_path / "snapshot"
    synth(snap, accounts=1000, seed=5)
    (snap / "accounts-extra.csv").write_text(EXTRA_ACCOUNTS)
    (snap / "follows-extra.csv").write_text(EXTRA_FOLLOWS)
    (snap / "links-extra.csv").write_text(EXTRA_LINKS)
    cfg = ServerConfig(
        home=tmp_path / "neo4j", bolt_port=free_port(), password="bulk-test-pass", heap="512m", pagecache="128m"
    )
    try:
        bulk = bulk_import(snap, cfg, quarantine_dir=tmp_path / "q-bulk")
        store = Neo4jStore(cfg.uri, user=cfg.user, password=cfg.password)
        try:
            bulk_graph = _graph(store)
            with pytest.raises(ConfigError, match="holds nodes"):
                bulk_import(snap, cfg, quarantine_dir=tmp_path / "q-refused")
            store._driver.execute_query("MATCH (n) DETACH DELETE n", database_=store.database)
            bolt_report = load_snapshot(snap, store, quarantine_dir=tmp_path / "q-bolt")
            bolt_graph = _graph(store)
            counts = store.counts()
        finally:
            store.close()
    finally:
        stop(cfg)

    nodes, edges, digest = bulk_graph
    assert len(nodes["account"]) > 1000 and len(edges) > 20_000  # not vacuous
    odd = {r["account_id"]: r for r in nodes["account"] if r["account_id"].startswith(("odd", "ghost"))}
    assert odd["odd-1"]["props"] == '{"bio":"say \\"hi\\", then\\nbye"}'
    assert odd["odd-2"]["created_at"] is None and odd["odd-2"]["bare"] is False
    assert odd["ghost-account"]["bare"] is True and odd["ghost-account"]["status"] is None
    assert nodes == bolt_graph[0]
    assert edges == bolt_graph[1]
    assert digest == bolt_graph[2]
    assert bulk.report.digest == bolt_report.digest
    assert bulk.report.to_dict()["tables"] == bolt_report.to_dict()["tables"]
    assert bulk.nodes == {k.label: counts[k.label] for k in NodeKind}
    assert bulk.total_relationships == len(edges)

"""load_snapshot into the embedded store: graph contents, idempotence, incremental snapshots,
and the `crumbgraph ingest` command. Snapshots are synthetic, written by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.model import NodeKind
from ingest.pipeline import default_quarantine_dir, load_snapshot, read_snapshot

SNAP1 = {
    "accounts.csv": "account_id,created_at,age_band,status\n"
    "kid1,2026-01-05T10:00:00Z,minor,active\nadult1,1767225600,adult,\n",
    "content.csv": "content_id,account_id,created_at,kind,parent_id,label,label_source,label_confidence\n"
    "v1,kid1,2026-02-01T09:00:00+01:00,video,,child_oriented,classifier:v3,0.9\n"
    "cm1,adult1,2026-02-01T09:30:00Z,comment,v1,,,\n",
    "follows.csv": "follower_id,followee_id,created_at\nadult1,kid1,2026-01-20\nadult1,hub9,\n",
    "links.jsonl": json.dumps(
        {
            "src_kind": "account",
            "src_id": "adult1",
            "dst_kind": "url",
            "dst_id": "HTTPS://Stash.Example:443/Drop?id=X#top",
            "kind": "bio",
        }
    )
    + "\n"
    + json.dumps(
        {"src_kind": "content", "src_id": "v1", "dst_kind": "hashtag", "dst_id": "#SummerVlog", "kind": "hashtag"}
    )
    + "\n",
}

SNAP2 = {
    "accounts.parquet": None,  # written in the test
    "follows.csv": "follower_id,followee_id,created_at\nadult2,kid1,2026-03-01\n",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "graph.duckdb")
    yield s
    s.close()


def _graph(store: EmbeddedStore) -> tuple:
    return (*tuple(store.node_table(k) for k in NodeKind), store.edge_table())


def test_load_snapshot_builds_the_graph(tmp_path: Path, store: EmbeddedStore) -> None:
    report = load_snapshot(_write(tmp_path / "s1", SNAP1), store, quarantine_dir=tmp_path / "q")

    assert report.status == "ok" and report.rejected == 0
    assert {
        (r["account_id"], r["age_band"], r["status"], r["bare"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()
    } == {("kid1", "minor", "active", False), ("adult1", "adult", "active", False), ("hub9", None, None, True)}
    content = {r["content_id"]: r for r in store.node_table(NodeKind.CONTENT).to_pylist()}
    assert content["v1"]["created_at"].isoformat() == "2026-02-01T08:00:00+00:00"
    assert (content["v1"]["label"], content["v1"]["label_confidence"]) == ("child_oriented", 0.9)
    assert (content["cm1"]["label"], content["cm1"]["label_confidence"], content["cm1"]["kind"]) == (
        "none",
        1.0,
        "comment",
    )
    assert store.node_table(NodeKind.URL).to_pylist() == [
        {"url": "https://stash.example/Drop?id=X", "domain": "stash.example"}
    ]
    assert store.node_table(NodeKind.HASHTAG).to_pylist() == [{"tag": "summervlog"}]
    edges = {
        (e["src_kind"], e["src_id"], e["type"], e["kind"], e["dst_kind"], e["dst_id"])
        for e in store.edge_table().to_pylist()
    }
    assert edges == {
        ("account", "kid1", "POSTED", "posted", "content", "v1"),
        ("account", "adult1", "POSTED", "posted", "content", "cm1"),
        ("content", "cm1", "REPLY_TO", "parent", "content", "v1"),
        ("account", "adult1", "FOLLOWS", "follow", "account", "kid1"),
        ("account", "adult1", "FOLLOWS", "follow", "account", "hub9"),
        ("account", "adult1", "BIO_LINK", "bio", "url", "https://stash.example/Drop?id=X"),
        ("content", "v1", "TAGGED", "hashtag", "hashtag", "summervlog"),
    }
    assert report.nodes == {"url": 1, "hashtag": 1}
    assert report.digest == read_snapshot(tmp_path / "s1", quarantine_dir=tmp_path / "q2").digest


def test_ingesting_twice_changes_nothing(tmp_path: Path, store: EmbeddedStore) -> None:
    snap = _write(tmp_path / "s1", SNAP1)
    first = load_snapshot(snap, store, quarantine_dir=tmp_path / "q")
    graph, counts = _graph(store), store.counts()
    second = load_snapshot(snap, store, quarantine_dir=tmp_path / "q", batch_rows=1)

    assert _graph(store) == graph and store.counts() == counts
    assert second.digest == first.digest
    assert [t.written for t in second.tables.values()] == [t.written for t in first.tables.values()]
    assert second.tables["follows"].bare_created == {"account": 0}  # hub9 exists now


def test_a_later_snapshot_adds_and_updates(tmp_path: Path, store: EmbeddedStore) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    load_snapshot(_write(tmp_path / "s1", SNAP1), store, quarantine_dir=tmp_path / "q1")
    snap2 = _write(tmp_path / "s2", {k: v for k, v in SNAP2.items() if v is not None})
    pq.write_table(
        pa.table(
            {
                "account_id": ["kid1", "hub9", "adult2"],
                "status": ["suspended", "active", "active"],
                "age_band": ["minor", "adult", "adult"],
            }
        ),
        snap2 / "accounts.parquet",
    )
    report = load_snapshot(snap2, store, quarantine_dir=tmp_path / "q2")

    assert report.tables["accounts"].written == 3 and report.tables["follows"].bare_endpoints == {}
    accounts = {(r["account_id"], r["status"], r["bare"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()}
    assert accounts == {
        ("kid1", "suspended", False),
        ("adult1", "active", False),
        ("hub9", "active", False),
        ("adult2", "active", False),
    }
    follows = {(e["src_id"], e["dst_id"]) for e in store.edge_table(types=["FOLLOWS"]).to_pylist()}
    assert follows == {("adult1", "kid1"), ("adult1", "hub9"), ("adult2", "kid1")}


def test_report_and_quarantine_are_saved_together(tmp_path: Path, store: EmbeddedStore) -> None:
    files = dict(SNAP1, **{"follows.csv": "follower_id,followee_id,created_at\nadult1,kid1,soon\n"})
    report = load_snapshot(_write(tmp_path / "s1", files), store, quarantine_dir=tmp_path / "q")
    saved = json.loads((tmp_path / "q" / "ingest-report.json").read_text())
    assert saved == json.loads(json.dumps(report.to_dict()))
    assert saved["totals"]["rejected"] == 1 and saved["tables"]["follows"]["rejected_by_rule"] == {"timestamp": 1}
    assert len((tmp_path / "q" / "quarantine.jsonl").read_text().splitlines()) == 1
    assert not list((tmp_path / "q").glob(".staging-*"))


def test_default_quarantine_dir_is_beside_the_snapshot(tmp_path: Path) -> None:
    snap = _write(tmp_path / "snapA", SNAP1)
    report = read_snapshot(snap)
    assert default_quarantine_dir(snap) == tmp_path / "snapA.ingest"
    assert Path(report.quarantine_file) == tmp_path / "snapA.ingest" / "quarantine.jsonl"
    assert (tmp_path / "snapA.ingest" / "ingest-report.json").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRUMBGRAPH_")}
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "ingest", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_ingest_json_and_exit_codes(tmp_path: Path) -> None:
    snap = _write(tmp_path / "s1", SNAP1)
    db = f"embedded:{tmp_path / 'g.duckdb'}"
    ok = _cli(str(snap), "--store", db, "--quarantine", str(tmp_path / "q"), "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["status"] == "ok" and out["totals"]["written"] == 8 and len(out["digest"]) == 64

    bad = _write(tmp_path / "bad", {"accounts.csv": "id,age_band\nx,minor\n"})
    fail = _cli(str(bad), "--store", db, "--quarantine", str(tmp_path / "qb"), "--quiet")
    assert fail.returncode == 2
    assert "accounts.csv: missing required column 'account_id'" in fail.stderr
    assert fail.stdout == ""


@pytest.mark.neo4j
def test_neo4j_gets_the_same_graph_as_embedded(tmp_path: Path, store: EmbeddedStore, neo4j_config) -> None:
    """Same snapshot into both stores (ids prefixed per test run; removed afterwards)."""
    import uuid

    from neo4j import GraphDatabase

    from graph.store import open_store

    prefix = f"t{uuid.uuid4().hex[:10]}-"
    files = {
        name: text.replace("kid1", prefix + "kid1")
        .replace("adult1", prefix + "adult1")
        .replace("hub9", prefix + "hub9")
        .replace("v1", prefix + "v1")
        .replace("cm1", prefix + "cm1")
        .replace("Stash.Example", prefix + "stash.example")
        .replace("#SummerVlog", "#" + prefix + "SummerVlog")
        for name, text in SNAP1.items()
    }
    snap = _write(tmp_path / "s1", files)
    expected = load_snapshot(snap, store, quarantine_dir=tmp_path / "qe")
    want_nodes = {
        (k.value, r[k.key], r.get("bare"))
        for k in (NodeKind.ACCOUNT, NodeKind.CONTENT)
        for r in store.node_table(k).to_pylist()
    }
    want_edges = {(e["type"], e["src_id"], e["dst_id"]) for e in store.edge_table().to_pylist()}

    driver = GraphDatabase.driver(neo4j_config.url, auth=(neo4j_config.neo4j_user, neo4j_config.neo4j_password))
    match = "coalesce(n.account_id, n.content_id, n.url, n.tag, '') CONTAINS $p"

    def key(v: str) -> str:
        return (
            f"CASE WHEN {v}:Account THEN {v}.account_id WHEN {v}:Content THEN {v}.content_id "
            f"WHEN {v}:Url THEN {v}.url ELSE {v}.tag END"
        )

    try:
        with open_store(neo4j_config) as neo:
            report = load_snapshot(snap, neo, quarantine_dir=tmp_path / "qn")
            again = load_snapshot(snap, neo, quarantine_dir=tmp_path / "qn")
        recs, _, _ = driver.execute_query(
            f"MATCH (n) WHERE {match} AND (n:Account OR n:Content) "
            f"RETURN CASE WHEN n:Account THEN 'account' ELSE 'content' END AS k, {key('n')} AS id, n.bare AS bare",
            p=prefix,
        )
        got_nodes = {(r["k"], r["id"], r["bare"]) for r in recs}
        recs, _, _ = driver.execute_query(
            f"MATCH (n)-[r]->(m) WHERE {match} RETURN type(r) AS t, {key('n')} AS s, {key('m')} AS d", p=prefix
        )
        got_edges = {(r["t"], r["s"], r["d"]) for r in recs}
    finally:
        driver.execute_query(f"MATCH (n) WHERE {match} DETACH DELETE n", p=prefix)
        driver.close()
    assert report.digest == again.digest == expected.digest
    assert again.tables["follows"].bare_created == {"account": 0}
    assert got_nodes == want_nodes
    assert got_edges == want_edges


def test_ingest_proves_endpoints_once_and_the_store_skips_its_own_check(
    tmp_path: Path, store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging anti-join (bare endpoints) proves every edge endpoint, so the ingest writes
    edges with endpoints_exist=True and the store's per-call check never runs; a plain
    upsert_edges still checks."""
    import pyarrow as pa

    from graph.errors import StoreError

    checked: list[str] = []
    original = EmbeddedStore._check_endpoints

    def spy(self: EmbeddedStore, cur: object, src: str) -> None:
        checked.append(src)
        original(self, cur, src)  # type: ignore[arg-type]

    monkeypatch.setattr(EmbeddedStore, "_check_endpoints", spy)
    report = load_snapshot(_write(tmp_path / "snap", SNAP1), store, quarantine_dir=tmp_path / "q")
    assert report.status == "ok" and store.counts()["FOLLOWS"] == 2 and checked == []
    dangling = pa.table(
        {
            "src_kind": ["account"],
            "src_id": ["adult1"],
            "type": ["FOLLOWS"],
            "kind": ["follow"],
            "dst_kind": ["account"],
            "dst_id": ["nobody"],
        }
    )
    with pytest.raises(StoreError, match="nobody"):
        store.upsert_edges(dangling)
    assert checked == ["_in"] and store.counts()["FOLLOWS"] == 2

"""The bad-input matrix's row-level cases, in one snapshot, through both stores: the same
report, the same quarantine and the same graph from the embedded store and the real Neo4j.
(Table-stopping errors never reach a store: see tests/unit/test_ingest_validate.py.)"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.model import NodeKind
from graph.store import GraphStore, open_store
from ingest.pipeline import load_snapshot


def _snapshot(root: Path, p: str) -> Path:
    """Synthetic rows holding one of each row-level problem; every id carries the prefix `p`."""
    long_id = p + "x" * 5000
    files: dict[str, str | bytes] = {
        "accounts-1.csv": (
            "account_id,created_at,age_band,status,nick\n"
            f"{p}a1,2026-03-01T12:00:00Z,minor,active,first\n"
            f"{p}a2,1772366400,adult,,x\n"
            f"{p}a3,,teen,,bad-enum\n"  # bad enum
            f"{p}a4,yesterday,adult,,bad-ts\n"  # bad timestamp
            f"{long_id},,adult,,oversized\n"  # oversized id
            f"{p}a1,,adult,suspended,second\n"
        ),  # duplicate: last row wins
        "accounts-2.jsonl": json.dumps({"account_id": f"{p}a1", "age_band": "unknown", "nick": "third"}) + "\n",
        "content.csv": (
            "content_id,account_id,parent_id,label,label_confidence\n"
            f"{p}c1,{p}a1,,child_oriented,0.9\n"
            f"{p}c2,{p}ghost1,{p}c1,,\n"  # dangling author
            f"{p}c3,{p}a2,{p}c404,abusive,1.5\n"
        ),  # confidence out of range
        "follows.csv": f"follower_id,followee_id\n{p}a1,{p}a2\n{p}ghost2,{p}a1\n,{p}a1\n",  # empty required
        "links.csv": (
            "src_kind,src_id,dst_kind,dst_id,kind\n"
            f"content,{p}c2,account,{p}a2,mention\n"
            f"content,{p}c2,hashtag,#{p}Tag,hashtag\n"
            f"account,{p}a2,url,HTTPS://{p}invite.example:443/j?x=1#frag,bio\n"
            f"account,{p}a2,group,{p}g1,share\n"
        ),  # bad dst_kind
        "notes.txt": "not a table\n",  # unknown file name
        # reader-level rejects (issue 11, item 8): one bad row each, the good rows still land
        "content-2.jsonl": (
            b'{"content_id": "' + f"{p}c4".encode() + b'", "account_id": "' + f"{p}a2".encode() + b'"}\n'
            b'{"content_id": "\xff"}\n'  # not UTF-8
            b"{oops\n"  # not JSON
        ),
        "follows-2.csv": f"follower_id,followee_id\n{p}a2,{p}a1\n".encode() + b"\xe9x," + f"{p}a1\n".encode(),
    }
    snap = root / "snap"
    snap.mkdir(parents=True)
    for name, text in files.items():
        (snap / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return snap


def _graph(store: GraphStore, p: str) -> dict[str, set]:
    """The prefix's part of the graph as sets of tuples (the Neo4j is shared within a test session)."""
    out: dict[str, set] = {}
    for kind in NodeKind:
        rows = store.node_table(kind).to_pylist()
        out[kind.value] = {tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows if p in r[kind.key]}
    out["edges"] = {
        tuple(sorted((k, str(v)) for k, v in e.items()))
        for e in store.edge_table().to_pylist()
        if p in e["src_id"] or p in e["dst_id"]
    }
    return out


def _quarantine(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.neo4j
def test_bad_input_gives_the_same_report_quarantine_and_graph_on_both_stores(tmp_path: Path, neo4j_config) -> None:
    p = f"bi{uuid.uuid4().hex[:8]}-"
    snap = _snapshot(tmp_path, p)
    with EmbeddedStore(tmp_path / "graph.duckdb") as emb:
        want = load_snapshot(snap, emb, quarantine_dir=tmp_path / "qe")
        want_graph = _graph(emb, p)
    neo = open_store(neo4j_config)
    try:
        got = load_snapshot(snap, neo, quarantine_dir=tmp_path / "qn")
        got_graph = _graph(neo, p)
    finally:
        neo._driver.execute_query(  # test-only cleanup of exactly this test's rows
            "MATCH (n) WHERE coalesce(n.account_id, n.content_id, n.url, n.tag, '') CONTAINS $p DETACH DELETE n",
            p=p,
            database_=neo4j_config.neo4j_database,
        )
        neo.close()

    # the report: same counts per table, rejects by rule, bare endpoints, ignored files, digest
    assert {t: asdict(r) for t, r in got.tables.items()} == {t: asdict(r) for t, r in want.tables.items()}
    assert got.digest == want.digest and got.ignored_files == want.ignored_files
    acc = want.tables["accounts"]
    assert (acc.rows_read, acc.rejected, acc.duplicates) == (7, 3, 2)
    assert acc.rejected_by_rule == {"enum": 1, "timestamp": 1, "too_long": 1}
    assert want.tables["content"].rejected_by_rule == {"range": 1, "encoding": 1, "json": 1}
    assert want.tables["follows"].rejected_by_rule == {"required": 1, "encoding": 1}
    assert want.tables["links"].rejected_by_rule == {"enum": 1}
    assert [f["file"] if isinstance(f, dict) else str(f) for f in want.ignored_files][0].endswith("notes.txt")
    # the quarantine: identical, row by row
    assert _quarantine(tmp_path / "qn") == _quarantine(tmp_path / "qe")
    assert len(_quarantine(tmp_path / "qe")) == 9
    unread = [
        (e["file"], e["row"], e["rule"]) for e in _quarantine(tmp_path / "qe") if e["rule"] in ("encoding", "json")
    ]
    assert unread == [
        ("content-2.jsonl", 2, "encoding"),
        ("content-2.jsonl", 3, "json"),
        ("follows-2.csv", 2, "encoding"),
    ]
    # the graph: identical, and what the rules say it must be
    assert got_graph == want_graph
    accounts = {dict(r)["account_id"]: dict(r) for r in want_graph["account"]}
    assert accounts[f"{p}a1"]["age_band"] == "unknown" and accounts[f"{p}a1"]["props"] == '{"nick":"third"}'
    assert {a for a, r in accounts.items() if r["bare"] == "True"} == {f"{p}ghost1", f"{p}ghost2"}
    assert {dict(r)["url"] for r in want_graph["url"]} == {f"https://{p}invite.example/j?x=1"}
    assert {dict(r)["tag"] for r in want_graph["hashtag"]} == {f"{p}tag"}

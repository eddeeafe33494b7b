"""A hand-made run folder for evidence and run-folder tests: run.json, results.json and the
frozen projection over a tiny synthetic graph."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from detectors.runfolder import canonical_json
from graph.model import ACCOUNT_SCHEMA, CONTENT_SCHEMA, EDGE_SCHEMA, HASHTAG_SCHEMA, URL_SCHEMA, NodeKind
from graph.projection import build_projection

T0 = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://ex.test/x"


def _edge(sk: str, s: str, t: str, dk: str, d: str) -> dict:
    return {
        "src_kind": sk,
        "src_id": s,
        "type": t,
        "kind": t.lower(),
        "dst_kind": dk,
        "dst_id": d,
        "created_at": T0,
        "props": None,
    }


def make_run(runs_dir: Path, run_id: str = "run-test-1") -> Path:
    """A run folder (run.json, results.json, frozen projection) over a tiny synthetic graph:
    c3 (a comment by a2) replies to child-oriented c1 and shares hashtag t1 with abusive c2 of
    cluster k1 = {a3, a4, c2}; a5 follows a4 and a6 follows a5 (context one and two hops out)."""
    accounts = pa.Table.from_pylist(
        [
            {"account_id": a, "created_at": T0, "age_band": b, "status": "active", "props": None, "bare": False}
            for a, b in [
                ("a1", "adult"),
                ("a2", "adult"),
                ("a3", "adult"),
                ("a4", "unknown"),
                ("a5", "minor"),
                ("a6", "adult"),
                ("a7", "adult"),
            ]
        ],
        schema=ACCOUNT_SCHEMA,
    )
    content = pa.Table.from_pylist(
        [
            {
                "content_id": "c1",
                "account_id": "a1",
                "created_at": T0,
                "kind": "video",
                "parent_id": None,
                "label": "child_oriented",
                "label_source": "classifier:v3",
                "label_confidence": 0.9,
                "props": None,
                "bare": False,
            },
            {
                "content_id": "c2",
                "account_id": "a3",
                "created_at": T0,
                "kind": "post",
                "parent_id": None,
                "label": "abusive",
                "label_source": "hashlist:test",
                "label_confidence": 1.0,
                "props": None,
                "bare": False,
            },
            {
                "content_id": "c3",
                "account_id": "a2",
                "created_at": T0,
                "kind": "comment",
                "parent_id": "c1",
                "label": "none",
                "label_source": None,
                "label_confidence": None,
                "props": None,
                "bare": False,
            },
        ],
        schema=CONTENT_SCHEMA,
    )
    urls = pa.Table.from_pylist([{"url": URL, "domain": "ex.test"}], schema=URL_SCHEMA)
    tags = pa.Table.from_pylist([{"tag": "t1"}], schema=HASHTAG_SCHEMA)
    edges = pa.Table.from_pylist(
        [
            _edge("account", "a1", "POSTED", "content", "c1"),
            _edge("account", "a2", "POSTED", "content", "c3"),
            _edge("account", "a3", "POSTED", "content", "c2"),
            _edge("content", "c3", "REPLY_TO", "content", "c1"),
            _edge("content", "c3", "TAGGED", "hashtag", "t1"),
            _edge("content", "c2", "TAGGED", "hashtag", "t1"),
            _edge("content", "c1", "LINKS_TO", "url", URL),
            _edge("account", "a4", "FOLLOWS", "account", "a3"),
            _edge("account", "a5", "FOLLOWS", "account", "a4"),
            _edge("account", "a6", "FOLLOWS", "account", "a5"),
        ],
        schema=EDGE_SCHEMA,
    )
    proj = build_projection(
        {NodeKind.ACCOUNT: accounts, NodeKind.CONTENT: content, NodeKind.URL: urls, NodeKind.HASHTAG: tags}, edges
    )
    run_dir = runs_dir / run_id
    proj.to_parquet(run_dir / "projection")
    results = {
        "run_id": run_id,
        "results_format": 1,
        "snapshot_digest": proj.digest,
        "detectors": [{"name": "clusters", "version": "1.0.0"}],
        "params": {},
        "clusters": [{"cluster_id": "k1", "accounts": ["a3", "a4"], "content": ["c2"], "score": 0.9}],
        "pathways": [
            {
                "pathway_id": "p1",
                "source": {"kind": "content", "id": "c1"},
                "cluster_id": "k1",
                "nodes": [
                    {"kind": "content", "id": "c1"},
                    {"kind": "content", "id": "c3"},
                    {"kind": "hashtag", "id": "t1"},
                    {"kind": "content", "id": "c2"},
                ],
                "edges": ["REPLY_TO", "TAGGED", "TAGGED"],
                "score": 0.5,
            }
        ],
        "flagged_accounts": [
            {"account_id": "a2", "score": 0.7, "role": "bridge", "pathways": ["p1"]},
            {"account_id": "a3", "score": 0.6, "role": "cluster_member", "pathways": []},
        ],
        "exposure": [],
    }
    body = canonical_json(results)
    (run_dir / "results.json").write_bytes(body)
    record = {
        "run_id": run_id,
        "snapshot_digest": proj.digest,
        "started_at": T0.isoformat(),
        "finished_at": T0.isoformat(),
        "detectors": results["detectors"],
        "params": {},
        "library_versions": {},
        "counts": {},
        "results_sha256": hashlib.sha256(body).hexdigest(),
    }
    (run_dir / "run.json").write_bytes(canonical_json(record))
    return run_dir

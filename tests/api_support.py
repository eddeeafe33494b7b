"""Helpers for the API tests: a small hand-built synthetic graph (ids carry a per-test prefix,
so tests can share the real Neo4j), a matching results.json, and an app with one user per role.
All data here is synthetic."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from argon2 import PasswordHasher

from api.app import create_app
from api.auth import create_user
from api.settings import Settings
from casework import Role, open_casework
from graph.model import NodeKind
from graph.store import GraphStore

#: cheap argon2 parameters for tests only (production uses argon2-cffi's defaults)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def build_graph(store: GraphStore, p: str) -> None:
    """A child-oriented post c1 (and c5) of a1; bridge a2 comments under it and links out from its
    bio; a3/a4 form an abusive cluster around c9; a5 is unrelated."""
    store.ensure_schema()
    accounts = pa.table(
        {
            "account_id": [f"{p}a1", f"{p}a2", f"{p}a3", f"{p}a4", f"{p}a5"],
            "created_at": [T0] * 5,
            "age_band": ["minor", "adult", "adult", "adult", "unknown"],
            "status": ["active"] * 5,
            "props": [None, json.dumps({"synthetic": True}), None, None, None],
        }
    )
    content = pa.table(
        {
            "content_id": [f"{p}c1", f"{p}c5", f"{p}c2", f"{p}c9"],
            "account_id": [f"{p}a1", f"{p}a1", f"{p}a2", f"{p}a3"],
            "created_at": [T0] * 4,
            "kind": ["video", "post", "comment", "image"],
            "parent_id": [None, None, f"{p}c1", None],
            "label": ["child_oriented", "child_oriented", "none", "abusive"],
            "label_source": ["classifier:test", "classifier:test", None, "hashlist:test"],
            "label_confidence": [1.0, 1.0, None, 1.0],
        }
    )
    store.upsert_nodes(NodeKind.ACCOUNT, accounts)
    store.upsert_nodes(NodeKind.CONTENT, content)
    store.upsert_nodes(NodeKind.URL, pa.table({"url": [f"https://invite.example/{p}x"], "domain": ["invite.example"]}))
    edges = [
        ("account", f"{p}a1", "POSTED", "posted", "content", f"{p}c1"),
        ("account", f"{p}a1", "POSTED", "posted", "content", f"{p}c5"),
        ("account", f"{p}a2", "POSTED", "posted", "content", f"{p}c2"),
        ("account", f"{p}a3", "POSTED", "posted", "content", f"{p}c9"),
        ("content", f"{p}c2", "REPLY_TO", "parent", "content", f"{p}c1"),
        ("account", f"{p}a2", "BIO_LINK", "bio", "url", f"https://invite.example/{p}x"),
        ("account", f"{p}a2", "FOLLOWS", "follow", "account", f"{p}a3"),
        ("account", f"{p}a3", "FOLLOWS", "follow", "account", f"{p}a4"),
        ("account", f"{p}a4", "FOLLOWS", "follow", "account", f"{p}a3"),
        ("content", f"{p}c5", "MENTIONS", "mention", "account", f"{p}a2"),
    ]
    cols = list(zip(*edges, strict=True))
    store.upsert_edges(
        pa.table(
            {
                "src_kind": cols[0],
                "src_id": cols[1],
                "type": cols[2],
                "kind": cols[3],
                "dst_kind": cols[4],
                "dst_id": cols[5],
                "created_at": [T0] * len(edges),
                "props": [None] * len(edges),
            }
        )
    )


def results_doc(p: str, run_id: str) -> dict[str, Any]:
    node = lambda kind, i: {"kind": kind, "id": i}  # noqa: E731
    return {
        "run_id": run_id,
        "snapshot_digest": "sha256:" + "ab" * 32,
        "clusters": [{"cluster_id": f"{p}k1", "accounts": [f"{p}a3", f"{p}a4"], "content": [f"{p}c9"], "score": 0.9}],
        "pathways": [
            {
                "pathway_id": f"{p}p2",
                "source": node("content", f"{p}c1"),
                "cluster_id": f"{p}k1",
                "nodes": [
                    node("content", f"{p}c1"),
                    node("content", f"{p}c2"),
                    node("account", f"{p}a2"),
                    node("account", f"{p}a3"),
                ],
                "edges": ["REPLY_TO", "POSTED", "FOLLOWS"],
                "score": 0.8,
            },
            {
                "pathway_id": f"{p}p1",
                "source": node("content", f"{p}c1"),
                "cluster_id": f"{p}k1",
                "nodes": [
                    node("content", f"{p}c1"),
                    node("content", f"{p}c2"),
                    node("account", f"{p}a2"),
                    node("url", f"https://invite.example/{p}x"),
                ],
                "edges": ["REPLY_TO", "POSTED", "BIO_LINK"],
                "score": 0.9,
            },
            {
                "pathway_id": f"{p}p3",
                "source": node("content", f"{p}c5"),
                "cluster_id": f"{p}k1",
                "nodes": [
                    node("content", f"{p}c5"),
                    node("account", f"{p}a2"),
                    node("account", f"{p}a3"),
                    node("account", f"{p}a4"),
                ],
                "edges": ["MENTIONS", "FOLLOWS", "FOLLOWS"],
                "score": 0.7,
            },
        ],
        "flagged_accounts": [
            {"account_id": f"{p}a3", "score": 0.6, "role": "cluster_member", "pathways": [f"{p}p1", f"{p}p2"]},
            {"account_id": f"{p}a2", "score": 0.95, "role": "bridge", "pathways": [f"{p}p1", f"{p}p2", f"{p}p3"]},
            {"account_id": f"{p}a4", "score": 0.5, "role": "cluster_member", "pathways": [f"{p}p3"]},
        ],
    }


def save_results(store: GraphStore, p: str, run_id: str, started_at: str = "2026-03-01T12:00:00+00:00") -> None:
    doc = results_doc(p, run_id)
    record = {
        "started_at": started_at,
        "snapshot_digest": doc["snapshot_digest"],
        "params": {"synthetic": True},
        "status": "succeeded",
    }
    store.save_run(run_id, record, json.dumps(doc, sort_keys=True).encode())


@dataclass
class ApiEnv:
    settings: Settings
    keys: dict[str, str]  # role (and extra user names) -> API key
    prefix: str
    run_id: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def make_env(tmp_path: Path, prefix: str, **overrides: Any) -> ApiEnv:
    """Settings with a private state dir, and one user per role (named after the role) plus a
    second law-enforcement user `le2`."""
    settings = Settings(
        state_dir=tmp_path / "state",
        ingest_root=overrides.pop("ingest_root", tmp_path),
        runs_dir=tmp_path / "runs",
        keys_dir=tmp_path / "keys",
        exports_dir=tmp_path / "exports",
        store=overrides.pop("store", f"embedded:{tmp_path}/unused.duckdb"),
        api_rate_limit=overrides.pop("api_rate_limit", 10_000.0),
        api_rate_burst=overrides.pop("api_rate_burst", 10_000),
        # no PDF rendering (a chromium per export) unless a test asks: packages hold report.html
        chromium=overrides.pop("chromium", "no-chromium-in-api-tests"),
        **overrides,
    )
    keys = {}
    with open_casework(settings.state_dir) as casework:
        for role in Role:
            keys[role.value] = create_user(casework.users, role.value, role, FAST_HASHER)[1]
        keys["le2"] = create_user(casework.users, "le2", Role.LAW_ENFORCEMENT, FAST_HASHER)[1]
    return ApiEnv(settings=settings, keys=keys, prefix=prefix, run_id=f"{prefix}run1")


def app_for(env: ApiEnv, store: GraphStore | None, **kwargs: Any):
    return create_app(env.settings, store=store, **kwargs)


# -- the two stores --------------------------------------------------------------------
STORE_PARAMS = ["embedded", "neo4j"]


def open_test_store(kind: str, tmp_path: Path, request: Any, prefix: str):
    """An EmbeddedStore in tmp_path, or the real Neo4j (marked `neo4j`; our rows removed after)."""
    if kind == "embedded":
        from graph.embedded import EmbeddedStore

        return EmbeddedStore(tmp_path / "graph.duckdb"), lambda: None
    from graph.store import open_store

    cfg = request.getfixturevalue("neo4j_config")
    store = open_store(cfg)

    def cleanup() -> None:
        drv = store._driver  # test-only cleanup of exactly the rows this test wrote
        for label, key in (("Account", "account_id"), ("Content", "content_id"), ("Run", "run_id")):
            drv.execute_query(
                f"MATCH (n:{label}) WHERE n.{key} STARTS WITH $p DETACH DELETE n",
                p=prefix,
                database_=cfg.neo4j_database,
            )
        drv.execute_query(
            "MATCH (n:Url {url: $u}) DETACH DELETE n",
            u=f"https://invite.example/{prefix}x",
            database_=cfg.neo4j_database,
        )

    return store, cleanup


@contextmanager
def seeded_store(
    request: Any, tmp_path_factory: Any, label: str, *, results: bool = True
) -> Iterator[tuple[Path, ApiEnv, GraphStore]]:
    """The store of `request.param` holding the hand-built graph (ids prefixed with the label's
    first letter and a random tag), an ApiEnv with one user per role and, with `results`, a
    saved results.json for `env.run_id`; this test's rows are removed afterwards."""
    tmp = tmp_path_factory.mktemp(label)
    prefix = f"{label[0]}{uuid.uuid4().hex[:8]}-"
    store, cleanup = open_test_store(request.param, tmp, request, prefix)
    try:
        build_graph(store, prefix)
        env = make_env(tmp, prefix)
        if results:
            save_results(store, prefix, env.run_id)
        yield tmp, env, store
    finally:
        cleanup()


def store_params():
    import pytest

    return [pytest.param("embedded"), pytest.param("neo4j", marks=pytest.mark.neo4j)]


# -- a real detector run with its frozen projection (evidence exports, re-runs) ---------
_REAL_RUN: dict[str, Any] = {}


def real_run(runs_dir: Path, tmp_path_factory: Any) -> dict[str, Any]:
    """A detector run over a small synthetic snapshot (1000 accounts), copied into `runs_dir`:
    {"run_id", "results"}. Built once per test session, then copied."""
    import shutil

    if not _REAL_RUN:
        from detectors.runner import run_detectors
        from graph.embedded import EmbeddedStore
        from ingest.pipeline import load_snapshot
        from synth import synth

        base = tmp_path_factory.mktemp("realrun")
        synth(base / "snapshot", accounts=1000, seed=11)
        store = EmbeddedStore(base / "graph.duckdb")
        try:
            store.ensure_schema()
            load_snapshot(base / "snapshot", store)
            record = run_detectors(store, runs_dir=base / "runs")
        finally:
            store.close()
        _REAL_RUN.update(
            run_id=record.run_id,
            folder=base / "runs" / record.run_id,
            results=json.loads((base / "runs" / record.run_id / "results.json").read_text()),
        )
    dest = Path(runs_dir) / _REAL_RUN["run_id"]
    if not dest.exists():
        shutil.copytree(_REAL_RUN["folder"], dest)
    return {"run_id": _REAL_RUN["run_id"], "results": _REAL_RUN["results"]}

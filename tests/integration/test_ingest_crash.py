"""Crash safety: a `crumbgraph ingest` killed with SIGKILL at several points and run again ends
with exactly the graph of an uninterrupted run. Embedded store; synthetic data built here."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph.embedded import EmbeddedStore
from graph.model import NodeKind
from ingest.pipeline import load_snapshot

BATCH_ROWS = 400

#: runs `crumbgraph ingest` in a child that SIGKILLs itself: on the K-th call of HOOK, after
#: DELAY_MS (negative: at once, before the call runs)
KILLER = """
import os, signal, sys, threading
from graph.embedded import EmbeddedStore
import ingest.pipeline

hook, k, delay_ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
calls = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def wrap(owner, name):
    orig = getattr(owner, name)
    def wrapped(*a, **kw):
        calls[0] += 1
        if calls[0] == k:
            if delay_ms < 0:
                die()
            threading.Timer(delay_ms / 1000, die).start()
        return orig(*a, **kw)
    setattr(owner, name, wrapped)

if hook == "validate":
    wrap(ingest.pipeline, "validate_batch")
else:
    for name in ("_upsert_nodes", "_ensure_nodes", "_upsert_edges"):
        wrap(EmbeddedStore, name)
sys.argv = ["crumbgraph", "ingest", *sys.argv[4:]]
from api.cli import main
main()
"""


def _snapshot(root: Path) -> Path:
    """~6,000 synthetic rows with duplicates, dangling ids, bad rows, URLs and hashtags."""
    rng = random.Random(3)
    root.mkdir()
    n = 1200
    accounts = pa.table(
        {
            "account_id": [f"acc{i}" for i in range(n)] + [f"acc{i}" for i in range(0, 100)],  # 100 duplicates
            "age_band": [rng.choice(["minor", "adult", "unknown"]) for _ in range(n + 100)],
            "created_at": [str(1767225600 + rng.randrange(10**7)) for _ in range(n + 100)],
        }
    )
    pq.write_table(accounts, root / "accounts.parquet")
    lines = ["content_id,account_id,created_at,kind,parent_id,label"]
    for i in range(n):
        parent = f"post{rng.randrange(i)}" if i and rng.random() < 0.5 else ""
        owner = f"acc{rng.randrange(n + 50)}"  # some dangling owners
        label = rng.choice(["child_oriented", "abusive", "none", "", "bogus" if i % 97 == 0 else "none"])
        lines.append(
            f"post{i},{owner},2026-0{1 + i % 9}-01T00:00:00Z,{rng.choice(['post', 'comment'])},{parent},{label}"
        )
    (root / "content.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    follows = [f"acc{rng.randrange(n + 80)},acc{rng.randrange(n)},{1767225600 + i}" for i in range(2400)]
    (root / "follows").mkdir()
    (root / "follows" / "part-1.csv").write_text(
        "follower_id,followee_id,created_at\n" + "\n".join(follows[:1200]) + "\n"
    )
    (root / "follows" / "part-2.csv").write_text(
        "follower_id,followee_id,created_at\n" + "\n".join(follows[1200:]) + "\n"
    )
    with (root / "links.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(1500):
            dst_kind = rng.choice(["url", "hashtag", "account", "content"])
            dst = {
                "url": f"https://Site{i % 40}.example/p/{i}#x",
                "hashtag": f"#Tag{i % 60}",
                "account": f"acc{rng.randrange(n + 30)}",
                "content": f"post{rng.randrange(n + 30)}",
            }[dst_kind]
            fh.write(
                json.dumps(
                    {
                        "src_kind": "content",
                        "src_id": f"post{rng.randrange(n)}",
                        "dst_kind": dst_kind,
                        "dst_id": dst,
                        "kind": rng.choice(["mention", "url", "share", "recommendation"]),
                    }
                )
                + "\n"
            )
    return root


def _graph(db: Path) -> tuple:
    with EmbeddedStore(db) as store:
        return (
            *tuple(store.node_table(k) for k in NodeKind),
            store.edge_table(),
            tuple(sorted(store.counts().items())),
        )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple, str]:
    root = tmp_path_factory.mktemp("crash")
    snap = _snapshot(root / "snap")
    with EmbeddedStore(root / "ref.duckdb") as store:
        report = load_snapshot(snap, store, quarantine_dir=root / "ref.q", batch_rows=BATCH_ROWS)
    assert report.rejected > 0 and sum(t.duplicates for t in report.tables.values()) > 0
    assert sum(t.bare_total for t in report.tables.values()) > 0
    return snap, _graph(root / "ref.duckdb"), report.digest


@pytest.mark.parametrize(
    ("hook", "k", "delay_ms"),
    [
        ("validate", 3, -1),  # while staging: nothing written yet
        ("store", 1, -1),  # before the first write
        ("store", 4, 0),  # during the content nodes
        ("store", 9, 5),  # around the bare endpoints / url nodes
        ("store", 16, 2),  # in the middle of the edges
    ],
)
def test_killed_ingest_rerun_equals_uninterrupted(
    tmp_path: Path, reference: tuple[Path, tuple, str], hook: str, k: int, delay_ms: float
) -> None:
    snap, expected, digest = reference
    db, q = tmp_path / "graph.duckdb", tmp_path / "q"
    env = {key: v for key, v in os.environ.items() if not key.startswith("CRUMBGRAPH_")}
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            hook,
            str(k),
            str(delay_ms),
            str(snap),
            "--store",
            f"embedded:{db}",
            "--quarantine",
            str(q),
            "--quiet",
            "--batch-rows",
            str(BATCH_ROWS),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    if hook == "store" and k > 1:
        assert _graph(db) != expected  # the kill left a partial graph behind

    with EmbeddedStore(db) as store:
        report = load_snapshot(snap, store, quarantine_dir=q, batch_rows=BATCH_ROWS)
    assert report.digest == digest
    assert _graph(db) == expected
    assert [p.name for p in q.iterdir() if p.name.startswith(".staging")] == []

"""Benchmark: rows/s of bulk loads from Arrow into each GraphStore, and peak RSS.

Synthetic rows only (made here, seeded). Examples:
  .venv/bin/python bench/bench_store.py embedded --edges 2000000
  .venv/bin/python bench/bench_store.py neo4j --edges 200000      # CRUMBGRAPH_NEO4J_* from the environment
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph.model import EDGE_SCHEMA, TS, NodeKind
from graph.store import GraphStore, StoreConfig, open_store


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ids(prefix: str, what: str, idx: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix + what), pa.array(idx).cast(pa.string()), "")


def synth(prefix: str, n_accounts: int, n_edges: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """Accounts and power-law-ish follows (synthetic, vectorised)."""
    rng = np.random.default_rng(seed)
    acc = pa.table(
        {
            "account_id": ids(prefix, "acc", np.arange(n_accounts)),
            "created_at": pa.array(
                rng.integers(1_600_000_000_000_000, 1_780_000_000_000_000, n_accounts), pa.int64()
            ).cast(TS),
            "age_band": pa.array(np.where(rng.random(n_accounts) < 0.15, "minor", "adult")),
            "status": pa.array(np.full(n_accounts, "active")),
        }
    )
    src = rng.integers(0, n_accounts, n_edges)
    dst = (rng.pareto(1.2, n_edges) * 10).astype(np.int64) % n_accounts  # hubs get many followers
    pair = np.unique(src * n_accounts + dst)  # one follow per pair, as ingest hands them over
    src, dst = pair // n_accounts, pair % n_accounts
    rng.shuffle(order := np.arange(len(pair)))
    src, dst, n_edges = src[order], dst[order], len(pair)
    edges = pa.table(
        {
            "src_kind": pa.array(np.full(n_edges, "account")),
            "src_id": ids(prefix, "acc", src),
            "type": pa.array(np.full(n_edges, "FOLLOWS")),
            "kind": pa.array(np.full(n_edges, "follow")),
            "dst_kind": pa.array(np.full(n_edges, "account")),
            "dst_id": ids(prefix, "acc", dst),
            "created_at": pa.array(
                rng.integers(1_700_000_000_000_000, 1_780_000_000_000_000, n_edges), pa.int64()
            ).cast(TS),
            "props": pa.nulls(n_edges, pa.string()),
        },
        schema=EDGE_SCHEMA,
    )
    return acc, edges


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def timed(label: str, rows: int, fn) -> dict:
    """Wall time and this process's CPU time (the machine is shared: CPU time says what the work
    costs, wall time what it took under the load of the moment, reported as os.getloadavg)."""
    t, c = time.perf_counter(), cpu_seconds()
    fn()
    dt, dc = time.perf_counter() - t, cpu_seconds() - c
    out = {
        "step": label,
        "rows": rows,
        "seconds": round(dt, 2),
        "rows_per_s": round(rows / dt),
        "cpu_s": round(dc, 2),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(out), flush=True)
    return out


def load(store: GraphStore, acc: pa.Table, edges: pa.Table, chunk: int) -> list[dict]:
    def nodes() -> None:
        store.upsert_nodes(NodeKind.ACCOUNT, acc)

    def rels() -> None:
        for start in range(0, edges.num_rows, chunk):
            store.upsert_edges(edges.slice(start, chunk))

    return [
        timed("accounts", acc.num_rows, nodes),
        timed("follows", edges.num_rows, rels),
        timed("follows again (idempotent)", edges.num_rows, rels),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("backend", choices=["embedded", "neo4j"])
    ap.add_argument("--edges", type=int, default=2_000_000)
    ap.add_argument("--accounts", type=int, default=0, help="default: edges / 10")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="rows per upsert_edges call")
    ap.add_argument("--batch-size", type=int, default=10_000, help="Neo4j rows per transaction")
    ap.add_argument("--concurrency", type=int, default=1, help="Neo4j write transactions in flight")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n_acc = args.accounts or max(args.edges // 10, 10)
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    acc, edges = synth(prefix, n_acc, args.edges, args.seed)
    print(
        json.dumps(
            {
                "backend": args.backend,
                "accounts": n_acc,
                "edges": args.edges,
                "chunk": args.chunk,
                "batch_size": args.batch_size,
                "concurrency": args.concurrency,
                "rss_mb_after_synth": round(peak_rss_mb()),
            }
        ),
        flush=True,
    )
    if args.backend == "embedded":
        with tempfile.TemporaryDirectory() as tmp:
            with open_store(StoreConfig(url=f"embedded:{tmp}/bench.duckdb")) as store:
                store.ensure_schema()
                load(store, acc, edges, args.chunk)
                timed("edge_table read (sorted)", edges.num_rows, store.edge_table)
                print(json.dumps({"file_mb": round(os.path.getsize(f"{tmp}/bench.duckdb") / 2**20)}))
    else:
        cfg = StoreConfig(
            url=os.environ["CRUMBGRAPH_NEO4J_URI"],
            neo4j_user=os.environ.get("CRUMBGRAPH_NEO4J_USER", "neo4j"),
            neo4j_password=os.environ.get("CRUMBGRAPH_NEO4J_PASSWORD", ""),
            batch_size=args.batch_size,
            neo4j_write_concurrency=args.concurrency,
        )
        with open_store(cfg) as store:
            store.ensure_schema()
            try:
                load(store, acc, edges, args.chunk)
            finally:  # remove what the benchmark wrote (the server may be shared); needs an implicit transaction
                with store._driver.session(database=store.database) as session:  # type: ignore[attr-defined]
                    session.run(
                        "MATCH (n:Account) WHERE n.account_id STARTS WITH $p "
                        "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS",
                        p=prefix,
                    ).consume()
    print(json.dumps({"peak_rss_mb": round(peak_rss_mb())}))


if __name__ == "__main__":
    main()

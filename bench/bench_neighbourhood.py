"""Single-request latency of EmbeddedStore.get_node / neighbourhood on a built store (synthetic data).

`--sql` forces the SQL path (no in-memory snapshot), i.e. the behaviour before graph.adjacency.
Run: .venv/bin/python bench/bench_neighbourhood.py /tmp/nb/g.duckdb --samples 200 [--sql]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from graph.embedded import EmbeddedStore
from graph.model import NodeKind


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--sql", action="store_true", help="bypass the in-memory snapshot (old path)")
    args = ap.parse_args()
    store = EmbeddedStore(args.path)
    if args.sql:
        store._snapshot = lambda: None  # type: ignore[method-assign]
    with store._cursor() as cur:
        ids = [
            r[0]
            for r in cur.execute(
                f"SELECT account_id FROM account USING SAMPLE {args.samples} ROWS (reservoir, 1) ORDER BY account_id"
            ).fetchall()
        ]
    t0, c0 = time.perf_counter(), time.process_time()
    store.get_node(NodeKind.ACCOUNT, ids[0])
    print(
        f"first get_node (builds the snapshot unless --sql): {time.perf_counter() - t0:.1f} s wall, "
        f"{time.process_time() - c0:.1f} s CPU, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    for what, call in [("get_node", lambda i: store.get_node(NodeKind.ACCOUNT, i))] + [
        (
            f"neighbourhood hops={h} limit={args.limit}",
            lambda i, h=h: store.neighbourhood(NodeKind.ACCOUNT, i, hops=h, limit=args.limit),
        )
        for h in (1, 2)
    ]:
        wall, cpu, sizes = [], [], []
        for i in ids:
            t, c = time.perf_counter(), time.process_time()
            out = call(i)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            sizes.append(len(out["nodes"]) if "nodes" in out else 1)
        w = np.array(wall) * 1000
        print(
            f"{what}: n={len(ids)} p50 {np.percentile(w, 50):.2f} ms, p95 {np.percentile(w, 95):.2f} ms, "
            f"max {w.max():.2f} ms, CPU/req {np.mean(cpu) * 1000:.2f} ms, nodes/answer median {int(np.median(sizes))} max {max(sizes)}"
        )
    store.close()


if __name__ == "__main__":
    main()

"""Benchmark: the Neo4j store beside its anchors from the same run, with the ratio.

  load        a synthetic snapshot loaded with `neo4j-admin database import full` (bulk_import:
              validate, import files, stop, import, start, constraints) beside the Bolt first load of
              the same snapshot into the same server (`--bolt`; slow at 200k accounts)
  projection  graph.projection.project() from Neo4j beside the same from an embedded store that
              holds the same snapshot (ingested here first if the file does not exist); the
              digests must be equal

Runs its own Neo4j in --home (stopped and started by the bulk import; left running, stop it with
`crumbgraph neo4j stop --home ...`). Examples:
  .venv/bin/python bench/bench_neo4j.py load SNAP --home /tmp/n4j-bench --bolt
  .venv/bin/python bench/bench_neo4j.py projection SNAP --home /tmp/n4j-bench --embedded /tmp/g.duckdb
Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.projection import project
from ingest.pipeline import load_snapshot
from ops.neo4j_import import bulk_import
from ops.neo4j_server import ServerConfig, free_port, start

PASSWORD = os.environ.get("CRUMBGRAPH_NEO4J_PASSWORD", "crumbgraph-dev-password")  # a home keeps its first one


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def emit(**fields: object) -> None:
    print(json.dumps({**fields, "load_avg_1m": round(os.getloadavg()[0], 1)}), flush=True)


def server(args: argparse.Namespace) -> ServerConfig:
    cfg = ServerConfig(
        home=args.home, bolt_port=free_port(), password=PASSWORD, heap=args.heap, pagecache=args.pagecache
    )
    port = cfg.configured_port() if cfg.conf_file.exists() else cfg.bolt_port
    return ServerConfig(home=args.home, bolt_port=port, password=PASSWORD, heap=args.heap, pagecache=args.pagecache)


def bench_load(args: argparse.Namespace) -> None:
    cfg = server(args)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = bulk_import(args.snapshot, cfg, overwrite=True, quarantine_dir=Path(tmp) / "q-bulk")
        bulk_s = time.perf_counter() - t
        rels = result.total_relationships
        emit(
            step="bulk import (neo4j-admin)",
            rels=rels,
            nodes=sum(result.nodes.values()),
            seconds=round(bulk_s, 1),
            rels_per_s=round(rels / bulk_s),
            steps={k: round(v, 1) for k, v in result.seconds.items()},
            tool_rels_per_s=round(rels / result.seconds["neo4j-admin import"]),
        )
        if not args.bolt:
            return
        store = Neo4jStore(cfg.uri, user=cfg.user, password=cfg.password, batch_size=args.batch_size)
        try:
            with store._driver.session(database=store.database) as session:
                session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            t, c = time.perf_counter(), cpu_seconds()
            report = load_snapshot(args.snapshot, store, quarantine_dir=Path(tmp) / "q-bolt")
            bolt_s = time.perf_counter() - t
            assert report.digest == result.report.digest
            emit(
                step="Bolt first load (anchor)",
                rels=rels,
                seconds=round(bolt_s, 1),
                rels_per_s=round(rels / bolt_s),
                client_cpu_s=round(cpu_seconds() - c, 1),
                bulk_speedup=round(bolt_s / bulk_s, 1),
            )
        finally:
            store.close()


def bench_projection(args: argparse.Namespace) -> None:
    cfg = server(args)
    start(cfg)
    embedded_path = Path(args.embedded)
    if not embedded_path.exists():
        with EmbeddedStore(embedded_path) as emb, tempfile.TemporaryDirectory() as tmp:
            load_snapshot(args.snapshot, emb, quarantine_dir=Path(tmp))
    times: dict[str, float] = {}
    digests: dict[str, str] = {}
    for name in ("embedded", "neo4j"):
        if name == "embedded":
            store: EmbeddedStore | Neo4jStore = EmbeddedStore(embedded_path)
        else:
            store = Neo4jStore(cfg.uri, user=cfg.user, password=cfg.password, read_concurrency=args.read_concurrency)
        try:
            best = float("inf")
            for _ in range(args.repeat):
                t, c = time.perf_counter(), cpu_seconds()
                proj = project(store)
                dt = time.perf_counter() - t
                best = min(best, dt)
                emit(
                    step=f"projection {name}",
                    seconds=round(dt, 2),
                    cpu_s=round(cpu_seconds() - c, 2),
                    edges=proj.n_edges,
                )
            times[name], digests[name] = best, proj.digest
        finally:
            store.close()
    emit(
        step="projection neo4j / embedded",
        neo4j_s=round(times["neo4j"], 2),
        embedded_s=round(times["embedded"], 2),
        ratio=round(times["neo4j"] / times["embedded"], 2),
        same_digest=digests["neo4j"] == digests["embedded"],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["load", "projection"])
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("--home", type=Path, required=True, help="Neo4j home of the benchmark (its own server)")
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--pagecache", default="1g")
    ap.add_argument("--bolt", action="store_true", help="load: also the Bolt first load (the anchor)")
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--embedded", default="", help="projection: the embedded store file (made if missing)")
    ap.add_argument("--read-concurrency", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    bench_load(args) if args.what == "load" else bench_projection(args)
    emit(peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()

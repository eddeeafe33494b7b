"""Benchmark of projection + every detector on a store (embedded or Neo4j), with peak memory,
and of the pathway step against the same method written with networkx.

    # a 1M-account SYNTHETIC snapshot in an embedded store, then the benchmark
    .venv/bin/crumbgraph synth --accounts 1000000 --seed 1 --out /tmp/s1m
    .venv/bin/crumbgraph ingest /tmp/s1m --store embedded:/tmp/s1m.duckdb
    .venv/bin/python bench/bench_detectors.py --store embedded:/tmp/s1m.duckdb
    .venv/bin/python bench/bench_detectors.py --store embedded:/tmp/s100k.duckdb --networkx
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.base import DetectorContext
from detectors.clusters import FoundCluster
from detectors.navigation import NavigationParams, build_navigation
from detectors.pathways import PathwayParams
from detectors.registry import DETECTORS
from detectors.runner import resolve_params, run_projection
from graph.model import ContentLabel
from graph.projection import project
from graph.store import StoreConfig, open_store


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def bench_detectors(store_url: str, freeze: Path | None = None, **store_kw: Any) -> dict[str, Any]:
    """Time projection, navigation and each detector on one store (the runner's own timings)."""
    params = resolve_params(None)
    t: dict[str, float] = {}
    with open_store(StoreConfig(url=store_url, **store_kw)) as store:
        t0 = time.perf_counter()
        proj = project(store)
        t["projection"] = time.perf_counter() - t0
    _, counts = run_projection(proj, params, timings=t)
    t["total"] = sum(t.values())
    if freeze is not None:
        t0 = time.perf_counter()
        proj.to_parquet(freeze)
        t["freeze_projection (extra)"] = time.perf_counter() - t0
    return {
        "store": store_url.split(":", 1)[0],
        "nodes": counts.pop("nodes"),
        "edges": counts.pop("edges"),
        "navigation_steps": counts.pop("navigation_steps"),
        "seconds": {k: round(v, 2) for k, v in t.items()},
        "counts": counts,
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }


def _nx_hop_limited(g: Any, targets: list[int], hops: int, max_cost: float) -> tuple[dict[int, float], list[dict]]:
    """hop_limited_costs written with networkx: rounds of relaxation over G.pred from the frontier."""
    d = {t: 0.0 for t in targets}
    frontier = set(targets)
    log: list[dict[int, tuple[float, int]]] = []
    for _ in range(hops):
        best: dict[int, tuple[float, int]] = {}
        for u in frontier:
            du = d[u]
            for v, attrs in g.pred[u].items():
                c = attrs["cost"] + du
                if c <= max_cost and c < d.get(v, math.inf) and c < best.get(v, (math.inf, 0))[0]:
                    best[v] = (c, u)
        for v, (c, _) in best.items():
            d[v] = c
        log.append(best)
        frontier = set(best)
    return d, log


def _nx_walk(log: list[dict], start: int, budget: int, targets: set[int]) -> list[int]:
    walk, v, k = [start], start, budget
    while v not in targets:
        j = next(j for j in range(k, 0, -1) if v in log[j - 1])
        v, k = log[j - 1][v][1], j - 1
        walk.append(v)
    return walk


def bench_networkx(store_url: str) -> dict[str, Any]:
    """The pathway search (hop-limited best walks from every child-oriented item into every
    cluster, on -log p step costs, pruned at the same probability, walks rebuilt) written with
    networkx, against the vectorised hop_limited_costs + rebuild_walk on the same projection."""
    import networkx as nx

    from detectors.pathways import hop_limited_costs, rebuild_walks

    params = resolve_params(None)
    with open_store(StoreConfig(url=store_url)) as store:
        proj = project(store)
    nav = build_navigation(proj, NavigationParams())
    outputs: dict[str, Any] = {}
    clusters_det = DETECTORS[0]
    outputs["clusters"] = clusters_det.run(
        proj, clusters_det.Params(), DetectorContext(navigation=nav, outputs=outputs)
    )
    clusters: list[FoundCluster] = outputs["clusters"].state["clusters"]
    pp = PathwayParams.model_validate(params["pathways"])
    max_cost = -math.log(pp.min_probability)
    cv = np.arange(proj.offsets[1], proj.offsets[2])
    sources = cv[proj.label[cv] == ContentLabel.CHILD_ORIENTED.code]
    t0 = time.perf_counter()
    rev = nav.reverse_index()
    d_buf = np.full(proj.n_nodes, np.inf)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours: dict[tuple[int, int], float] = {}
    for ci, c in enumerate(clusters):
        is_t = np.zeros(proj.n_nodes, bool)
        is_t[c.target_vids] = True
        search = hop_limited_costs(nav, rev, c.target_vids, pp.max_hops, max_cost, d=d_buf)
        d = search.d
        reached = sources[np.isfinite(d[sources]) & ~is_t[sources]]
        rebuild_walks(nav, search.log, reached, pp.max_hops, is_t)
        ours.update({(ci, s): float(d[s]) for s in reached.tolist()})
        search.release()
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = nx.DiGraph()
    order = np.argsort(-nav.cost, kind="stable")  # parallel steps: the cheapest is added last and kept
    g.add_weighted_edges_from(
        zip(nav.src[order].tolist(), nav.dst[order].tolist(), nav.cost[order].tolist()), weight="cost"
    )
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs: dict[tuple[int, int], float] = {}
    src_set = set(sources.tolist())
    for ci, c in enumerate(clusters):
        targets = c.target_vids.tolist()
        tset = set(targets)
        d, log = _nx_hop_limited(g, targets, pp.max_hops, max_cost)
        for s in src_set & set(d):
            if s not in tset:
                _nx_walk(log, s, pp.max_hops, tset)
                theirs[(ci, s)] = d[s]
    t_nx = time.perf_counter() - t0
    agree = ours.keys() == theirs.keys() and all(abs(ours[k] - theirs[k]) < 1e-9 for k in ours)
    return {
        "nodes": proj.n_nodes,
        "edges": proj.n_edges,
        "navigation_steps": int(nav.src.size),
        "clusters": len(clusters),
        "source_cluster_pairs": len(ours),
        "same_answers": agree,
        "ours_index_s": round(t_index, 3),
        "ours_search_s": round(t_ours, 3),
        "networkx_build_s": round(t_build, 2),
        "networkx_search_s": round(t_nx, 3),
        "speedup_search_only": round(t_nx / t_ours, 1),
        "speedup_with_build": round((t_nx + t_build) / (t_ours + t_index), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True, help="store URL, e.g. embedded:/tmp/s1m.duckdb")
    ap.add_argument("--neo4j-user", default="neo4j")
    ap.add_argument("--neo4j-password", default="")
    ap.add_argument("--networkx", action="store_true", help="compare the pathway step with networkx instead")
    ap.add_argument("--freeze", type=Path, default=None, help="also time freezing the projection to this folder")
    ap.add_argument("--out", type=Path, default=None, help="append the JSON result to this file")
    args = ap.parse_args(argv)
    if args.networkx:
        res = bench_networkx(args.store)
    else:
        kw = {"neo4j_user": args.neo4j_user, "neo4j_password": args.neo4j_password} if "://" in args.store else {}
        res = bench_detectors(args.store, args.freeze, **kw)
    print(json.dumps(res, indent=2))
    if args.out:
        with args.out.open("a") as f:
            f.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

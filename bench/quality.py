"""Quality of the detectors on the project's own synthetic generator, against what it planted
(truth.json, read only here and in tests), next to a naive k-hop-proximity baseline.

    .venv/bin/python bench/quality.py --accounts 20000 200000 --seeds 1 2 3 [--out bench/results/quality.json]
        [--background-mix 1.0]   # cluster members with an ordinary background life (docs/synthetic-data.md)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.base import rnd
from detectors.clusters import account_owner
from graph.projection import REL_TYPES, Projection, unique_ints

EdgeKey = tuple[str, str, str, str, str]


def stored_edges(proj: Projection) -> set[EdgeKey]:
    """Every stored edge as (src_kind, src_id, type, dst_kind, dst_id), to check walks against."""
    kinds = np.array(["account", "content", "url", "hashtag"], dtype=object)
    types = np.array([t.value for t in REL_TYPES], dtype=object)
    ids = np.array(proj.ids.to_pylist(), dtype=object)
    return set(
        zip(
            kinds[proj.kind[proj.src]],
            ids[proj.src],
            types[proj.etype],
            kinds[proj.kind[proj.dst]],
            ids[proj.dst],
            strict=True,
        )
    )


def is_real_walk(pw: dict[str, Any], edges: set[EdgeKey]) -> bool:
    dirs = pw.get("directions") or ["forward"] * len(pw["edges"])
    if len(pw["nodes"]) != len(pw["edges"]) + 1 or len(dirs) != len(pw["edges"]):
        return False
    for a, b, rel, d in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], dirs):
        s, t = (a, b) if d == "forward" else (b, a)
        if (s["kind"], s["id"], rel, t["kind"], t["id"]) not in edges:
            return False
    return len(pw["nodes"]) == len(pw["edges"]) + 1


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 1.0


def score(results: dict[str, Any], truth: dict[str, Any], edges: set[EdgeKey] | None = None) -> dict[str, Any]:
    """Score one run against the planted truth (see docs/quality.md for each metric)."""
    planted_b = {b["account_id"] for b in truth["bridges"]}
    flagged = results["flagged_accounts"]
    bridges = [r["account_id"] for r in flagged if r["role"] == "bridge"]
    k = 2 * len(planted_b)
    top = bridges[:k]
    hits = len(planted_b & set(top))
    # clusters: best match of each planted cluster
    found = results["clusters"]
    best: dict[str, tuple[float, str | None]] = {}
    for pc_ in truth["clusters"]:
        cands = [(jaccard(pc_["accounts"], c["accounts"]), c["cluster_id"]) for c in found]
        best[pc_["cluster_id"]] = max(cands, default=(0.0, None))
    # planted cluster each found cluster stands for (its best match)
    maps_to = {}
    for c in found:
        j, pid = max(
            ((jaccard(p["accounts"], c["accounts"]), p["cluster_id"]) for p in truth["clusters"]), default=(0.0, None)
        )
        if j > 0:
            maps_to[c["cluster_id"]] = pid
    covered = 0
    by_source: dict[str, list[dict[str, Any]]] = {}
    for pw in results["pathways"]:
        by_source.setdefault(pw["source"]["id"], []).append(pw)
    for tr in truth["trails"]:
        if any(
            maps_to.get(pw["cluster_id"]) == tr["cluster_id"] and tr["bridge_account_id"] in pw.get("bridges", [])
            for pw in by_source.get(tr["source_content_id"], [])
        ):
            covered += 1
    decoy_accounts = {d["account_id"] for d in truth["decoys"] if d["account_id"]}
    decoy_tags = {d["hashtag"] for d in truth["decoys"] if d["hashtag"]}
    decoy_content = {d["content_id"] for d in truth["decoys"] if d["content_id"]}
    flagged_ids = {r["account_id"] for r in flagged}
    decoys_flagged = sorted(decoy_accounts & flagged_ids)
    decoys_flagged += sorted(t for t in decoy_tags if any(t in c.get("hashtags", []) for c in found))
    decoys_flagged += sorted(c for c in decoy_content if any(c in cl["content"] for cl in found))
    incidental = {d["account_id"] for d in truth.get("incidental", [])}
    groomers = {g["account_id"] for g in truth["groomers"]}
    suspicious = [r["account_id"] for r in flagged if r["role"] == "suspicious_contact"]
    real = sum(is_real_walk(pw, edges) for pw in results["pathways"]) if edges is not None else None
    return {
        "planted_bridges": len(planted_b),
        "flagged_bridges": len(bridges),
        "bridge_recall": rnd(hits / len(planted_b)) if planted_b else 1.0,
        "bridge_precision": rnd(hits / len(top)) if top else (1.0 if not planted_b else 0.0),
        "decoys_flagged": decoys_flagged,
        "cluster_jaccard": rnd(float(np.mean([j for j, _ in best.values()]))) if best else 1.0,
        "clusters_found": len(found),
        "trails": len(truth["trails"]),
        "trail_coverage": rnd(covered / len(truth["trails"])) if truth["trails"] else 1.0,
        "pathways": len(results["pathways"]),
        "real_walk_share": None
        if real is None
        else rnd(real / len(results["pathways"]) if results["pathways"] else 1.0),
        "groomer_recall": rnd(len(groomers & set(suspicious)) / len(groomers)) if groomers else 1.0,
        "suspicious_flagged": len(suspicious),
        # unsuspecting ordinary followers of members (background mix only): counted against
        # precision like any other account, listed here to tell them apart
        "incidental_in_top": sorted(incidental & set(top)),
        "non_bridges_in_top": [a for a in top if a not in planted_b],
    }


def baseline(proj: Projection, hops: int = 2) -> dict[str, Any]:
    """Naive k-hop proximity to abusive labels, in the results format: clusters = connected groups
    of accounts posting abusive-labelled content; bridges = other accounts ranked by how many
    labelled accounts lie within `hops` undirected hops; pathways = a shortest unweighted walk
    (any edge, either direction) from each child-oriented item to the nearest cluster node."""
    n_acc = proj.offsets[1]
    src_o, dst_o = account_owner(proj, proj.src), account_owner(proj, proj.dst)
    ok = (src_o >= 0) & (dst_o >= 0) & (src_o != dst_o)
    a = sp.coo_matrix((np.ones(int(ok.sum())), (src_o[ok], dst_o[ok])), shape=(n_acc, n_acc)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    cv = np.arange(proj.offsets[1], proj.offsets[2])
    ab = cv[proj.label[cv] == 2]
    labelled = np.zeros(n_acc, bool)
    labelled[proj.author[ab][proj.author[ab] >= 0]] = True
    lv = np.flatnonzero(labelled)
    _, comp = connected_components(a[lv][:, lv], directed=False)
    clusters = []
    member = np.full(proj.n_nodes, -1)
    for c in unique_ints(comp).tolist():
        mem = lv[comp == c]
        if mem.size >= 2:
            member[mem] = len(clusters)
            clusters.append(
                {
                    "cluster_id": f"baseline-{len(clusters)}",
                    "accounts": sorted(proj.id_list(mem)),
                    "content": [],
                    "hashtags": [],
                    "score": float(mem.size),
                }
            )
    reach = labelled.astype(np.float64)
    near = reach.copy()
    for _ in range(hops):
        reach = (a @ reach > 0).astype(np.float64)
        near = near + reach
    cnt = np.asarray(a @ labelled.astype(np.float64)).ravel()
    order = np.lexsort((np.arange(n_acc), -cnt))
    bridges = [
        {"account_id": proj.node_id(v), "score": float(cnt[v]), "role": "bridge", "pathways": []}
        for v in order
        if cnt[v] > 0 and not labelled[v] and near[v] > 0
    ][:1000]
    # pathways: BFS on the undirected stored graph from the cluster side
    g = sp.coo_matrix((np.ones(proj.n_edges), (proj.src, proj.dst)), shape=(proj.n_nodes,) * 2).tocsr()
    g = (g + g.T).tocsr()
    targets = np.flatnonzero(member >= 0)
    pathways = []
    if targets.size:
        from scipy.sparse.csgraph import dijkstra

        g.data[:] = 1.0
        dist, pred, _ = dijkstra(g, directed=False, indices=targets, return_predecessors=True, min_only=True, limit=6)
        for s in cv[proj.label[cv] == 1].tolist():
            if not np.isfinite(dist[s]) or member[s] >= 0:
                continue
            walk = [s]
            while member[walk[-1]] < 0:
                walk.append(int(pred[walk[-1]]))
            accs = {int(x) for x in account_owner(proj, np.array(walk[1:-1])) if x >= 0 and member[x] < 0}
            accs.discard(int(proj.author[s]))
            pathways.append(
                {
                    "source": proj.node_ref(s),
                    "cluster_id": f"baseline-{member[walk[-1]]}",
                    "nodes": [proj.node_ref(v) for v in walk],
                    "edges": [],
                    "bridges": sorted(proj.id_list(np.array(sorted(accs))) if accs else []),
                }
            )
    return {"clusters": clusters, "pathways": pathways, "flagged_accounts": bridges}


def run_one(accounts: int, seed: int, work: Path, background_mix: float = 0.0) -> dict[str, Any]:
    """Synthesise, ingest into a fresh embedded store, run all detectors and the baseline; score both."""
    from detectors.runfolder import read_results
    from detectors.runner import run_detectors
    from graph.projection import project
    from graph.store import StoreConfig, open_store
    from ingest.pipeline import load_snapshot
    from synth import synth

    snap = work / f"snap-{accounts}-{seed}-{background_mix}"
    synth(snap, accounts=accounts, seed=seed, force=True, background_mix=background_mix)
    truth = json.loads((snap / "truth.json").read_text())
    t0 = time.perf_counter()
    with open_store(StoreConfig(url=f"embedded:{work / f'store-{accounts}-{seed}-{background_mix}.duckdb'}")) as store:
        store.ensure_schema()
        load_snapshot(snap, store)
        t1 = time.perf_counter()
        rec = run_detectors(store, runs_dir=work / "runs", freeze_projection=False)
        t2 = time.perf_counter()
        results = read_results(rec.run_dir or "")
        proj = project(store)
    edges = stored_edges(proj)
    base = baseline(proj)
    out = {
        "accounts": accounts,
        "seed": seed,
        "background_mix": background_mix,
        "ingest_s": round(t1 - t0, 2),
        "detect_s": round(t2 - t1, 2),
        "method": score(results, truth, edges),
        "baseline": score(base, truth, None),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, nargs="+", default=[20_000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument(
        "--background-mix",
        type=float,
        default=0.0,
        help="synth background_mix: 0 = today's snapshots, 1.0 = members live ordinary lives",
    )
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cg-quality-") as tmp:
        work = args.work or Path(tmp)
        for n in args.accounts:
            for s in args.seeds:
                r = run_one(n, s, work, args.background_mix)
                rows.append(r)
                print(json.dumps(r), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

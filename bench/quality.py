"""Quality of the detectors on the project's own synthetic generator (the adversarial world by
default), against what it planted (truth.json, read only here and in tests), next to a naive
k-hop-proximity baseline. Every metric is defined in docs/quality.md ("How it is scored").

    .venv/bin/python bench/quality.py --accounts 20000 200000 --seeds 1 2 3 --background-mix 0 1 5 10
        [--world adversarial|classic] [--out-dir bench/results] [--work DIR]

Raw rows go to `bench/results/quality-v2-<accounts>-mix<m>.json` (one file per size and mix;
`--out FILE` writes all rows to one file instead); a table is printed at the end.
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
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.base import rnd
from detectors.clusters import account_owner
from graph.projection import REL_TYPES, Projection, unique_ints

EdgeKey = tuple[str, str, str, str, str]
Row = dict[str, Any]
#: a found cluster "misses" a planted one when its best Jaccard is below this
MISSED_BELOW = 0.5


def stored_edges(proj: Projection, among: Iterable[str] | None = None) -> set[EdgeKey]:
    """Stored edges as (src_kind, src_id, type, dst_kind, dst_id), to check walks against; with
    `among`, only edges whose both ends have one of those ids (the nodes of returned pathways)."""
    kinds = np.array(["account", "content", "url", "hashtag"], dtype=object)
    types = np.array([t.value for t in REL_TYPES], dtype=object)
    sel = np.arange(proj.n_edges)
    if among is not None:
        wanted = np.asarray(pc.is_in(proj.ids, value_set=pa.array(sorted(set(among)), proj.ids.type)), bool)
        sel = np.flatnonzero(wanted[proj.src] & wanted[proj.dst])
    src, dst = proj.src[sel], proj.dst[sel]
    ends = np.unique(np.concatenate([src, dst]))
    name = dict(zip(ends.tolist(), proj.id_list(ends)))
    return set(
        zip(
            kinds[proj.kind[src]],
            [name[v] for v in src.tolist()],
            types[proj.etype[sel]],
            kinds[proj.kind[dst]],
            [name[v] for v in dst.tolist()],
            strict=True,
        )
    )


def is_real_walk(pw: Row, edges: set[EdgeKey]) -> bool:
    dirs = pw.get("directions") or ["forward"] * len(pw["edges"])
    if len(pw["nodes"]) != len(pw["edges"]) + 1 or len(dirs) != len(pw["edges"]):
        return False
    for a, b, rel, d in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], dirs):
        s, t = (a, b) if d == "forward" else (b, a)
        if (s["kind"], s["id"], rel, t["kind"], t["id"]) not in edges:
            return False
    return True


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 1.0


def _ratio(num: int, den: int, empty: float = 1.0) -> float:
    return rnd(num / den) if den else empty


def ranked(pathways: list[Row]) -> list[Row]:
    """Pathways by `score`, highest first (ties keep the order of results.json: stable)."""
    return sorted(pathways, key=lambda pw: -float(pw.get("score", 0.0)))


def match_clusters(results: Row, truth: Row) -> tuple[dict[str, float], dict[str, str]]:
    """(best Jaccard of each planted cluster, the planted cluster each returned one stands for)."""
    found = results["clusters"]
    best = {
        p["cluster_id"]: max((jaccard(p["accounts"], c["accounts"]) for c in found), default=0.0)
        for p in truth["clusters"]
    }
    maps_to = {}
    for c in found:
        j, pid = max(
            ((jaccard(p["accounts"], c["accounts"]), p["cluster_id"]) for p in truth["clusters"]), default=(0.0, "")
        )
        if j > 0:
            maps_to[c["cluster_id"]] = pid
    return best, maps_to


def _trail(tr: Row) -> Row:
    """A truth trail with the version-2 names (a version-1 truth has only the long ones)."""
    return {
        "id": tr["trail_id"],
        "shape": tr["shape"],
        "source": tr.get("source", tr["source_content_id"]),
        "bridge": tr.get("bridge", tr.get("bridge_account_id")),
        "relay": tr.get("relay"),
        "cluster": tr.get("cluster", tr["cluster_id"]),
        "first": tr["nodes"][1]["id"] if len(tr["nodes"]) > 1 else None,
    }


def covers(pw: Row, tr: Row, maps_to: dict[str, str]) -> bool:
    """A pathway is the trail when it starts at the trail's source, reaches the trail's cluster (its
    best-matching returned cluster) and goes through the trail's bridge or relay (named on the
    pathway: a node, a hop's creator or a listed bridge) or, for a platform recommendation trail,
    takes the trail's recommendation hop first."""
    if pw["source"]["id"] != tr["source"] or maps_to.get(pw["cluster_id"]) != tr["cluster"]:
        return False
    if tr["bridge"] is None:
        return bool(pw["edges"]) and pw["edges"][0] == "RECOMMENDS" and pw["nodes"][1]["id"] == tr["first"]
    named = set(pw.get("bridges") or []) | {c for c in pw.get("created_by") or [] if c}
    named |= {n["id"] for n in pw["nodes"] if n["kind"] == "account"}
    return tr["bridge"] in named or (tr["relay"] is not None and tr["relay"] in named)


def queue(pathways: list[Row]) -> list[Row]:
    """The collapsed queue: pathways by score, highest first, without near-duplicates — a pathway
    naming another as its `trail` representative is left out (results without `trail`: all)."""
    return ranked([pw for pw in pathways if pw.get("trail") in (None, pw.get("pathway_id"))])


def _ranks(order: list[Row], trails: list[Row], maps_to: dict[str, str]) -> tuple[list[int | None], set[int]]:
    """Best rank in `order` of a pathway covering each trail, and the ranks of every covering pathway."""
    by_source: dict[str, list[tuple[int, Row]]] = {}
    for rank, pw in enumerate(order):
        by_source.setdefault(pw["source"]["id"], []).append((rank, pw))
    best: list[int | None] = []
    real: set[int] = set()
    for tr in trails:
        ranks = [r for r, pw in by_source.get(tr["source"], []) if covers(pw, tr, maps_to)]
        best.append(min(ranks) if ranks else None)
        real |= set(ranks)
    return best, real


def _pathway_metrics(results: Row, trails: list[Row], maps_to: dict[str, str]) -> tuple[Row, list[Row]]:
    """Pathway precision@K / recall@K (K = 2 × planted trails, every pathway ranked by score),
    recall (any pathway), and the same over the collapsed queue (precision at T = planted trails)."""
    k, t = 2 * len(trails), len(trails)
    order = ranked(results["pathways"])
    best, real = _ranks(order, trails, maps_to)
    q_order = queue(results["pathways"])
    q_best, q_real = _ranks(q_order, trails, maps_to)
    for tr, r, qr in zip(trails, best, q_best):
        tr["rank"], tr["queue_rank"], tr["covered"] = r, qr, r is not None
    empty = 0.0 if trails else 1.0
    return {
        "k": k,
        "pathways": len(order),
        "queue": len(q_order),
        "pathway_precision_at_k": _ratio(len({r for r in real if r < k}), min(k, len(order)), empty),
        "pathway_recall_at_k": _ratio(sum(r is not None and r < k for r in best), t),
        "pathway_recall": _ratio(sum(r is not None for r in best), t),
        "queue_precision_at_t": _ratio(len({r for r in q_real if r < t}), min(t, len(q_order)), empty),
        "queue_recall_at_k": _ratio(sum(r is not None and r < k for r in q_best), t),
    }, order


def _accounts_metrics(flagged: list[Row], truth: Row, trails: list[Row]) -> Row:
    """Bridges (role `bridge`, top 2 × planted), relays (role `relay`, any), contacts
    (role `suspicious_contact`, top 2 × planted): recall and precision."""
    role = lambda r: [f["account_id"] for f in flagged if f["role"] == r]  # noqa: E731
    planted_b = {b["account_id"] for b in truth["bridges"]}
    top_b = role("bridge")[: 2 * len(planted_b)]
    # relays a planted trail goes through; a relay no trail uses is not counted as missed, nor
    # as a false relay when flagged (it does share cluster content)
    planted_r = {r["account_id"] for r in truth.get("relays", []) if r["trails"]}
    idle_r = {r["account_id"] for r in truth.get("relays", []) if not r["trails"]}
    relays = [a for a in role("relay") if a not in idle_r]
    contacts = truth.get("contacts") or [dict(g, tied=False) for g in truth["groomers"]]
    planted_c = {c["account_id"] for c in contacts}
    # a planted bridge, relay or member also flagged as a contact is neither a hit nor a false alarm
    actors = {b["account_id"] for b in truth["bridges"]} | {r["account_id"] for r in truth.get("relays", [])}
    actors |= {a for c in truth["clusters"] for a in c["accounts"]}
    top_c = [a for a in role("suspicious_contact") if a not in actors - planted_c][: 2 * len(planted_c)]
    untied = {c["account_id"] for c in contacts if not c["tied"]}
    for tr in trails:
        tr["bridge_found"] = tr["bridge"] in top_b if tr["bridge"] else None
        tr["relay_found"] = tr["relay"] in relays if tr["relay"] else None
    return {
        "planted_bridges": len(planted_b),
        "flagged_bridges": len(role("bridge")),
        "bridge_recall": _ratio(len(planted_b & set(top_b)), len(planted_b)),
        "bridge_precision": _ratio(len(planted_b & set(top_b)), len(top_b), 0.0 if planted_b else 1.0),
        "non_bridges_in_top": [a for a in top_b if a not in planted_b],
        "incidental_in_top": sorted({d["account_id"] for d in truth.get("incidental", [])} & set(top_b)),
        "planted_relays": len(planted_r),
        "flagged_relays": len(relays),
        "relay_recall": _ratio(len(planted_r & set(relays)), len(planted_r)),
        "relay_precision": _ratio(len(planted_r & set(relays)), len(relays), 0.0 if planted_r else 1.0),
        "planted_contacts": len(planted_c),
        "flagged_contacts": len(role("suspicious_contact")),
        "contact_recall": _ratio(len(planted_c & set(top_c)), len(planted_c)),
        "contact_precision": _ratio(len(planted_c & set(top_c)), len(top_c), 0.0 if planted_c else 1.0),
        "contact_recall_untied": _ratio(len(untied & set(top_c)), len(untied)),
        "non_contacts_in_top": [a for a in top_c if a not in planted_c],
        "groomer_recall": _ratio(len(planted_c & set(role("suspicious_contact"))), len(planted_c)),
    }


def _decoys_flagged(results: Row, truth: Row) -> list[str]:
    """Decoy accounts flagged in any role, mega hashtags a cluster owns, false-positive content in one."""
    found, flagged = results["clusters"], {r["account_id"] for r in results["flagged_accounts"]}
    out = sorted({d["account_id"] for d in truth["decoys"] if d["account_id"]} & flagged)
    out += sorted(
        {
            d["hashtag"]
            for d in truth["decoys"]
            if d["hashtag"] and any(d["hashtag"] in c.get("hashtags", []) for c in found)
        }
    )
    owned = {x for c in found for x in c["content"]}
    out += sorted({d["content_id"] for d in truth["decoys"] if d["content_id"] and d["content_id"] in owned})
    return out


def _decoy_kinds(truth: Row, flagged_ids: list[str]) -> dict[str, int]:
    kind = {d["account_id"]: d["decoy"] for d in truth["decoys"] if d["account_id"]}
    out: dict[str, int] = {}
    for a in flagged_ids:
        if a in kind:
            out[kind[a]] = out.get(kind[a], 0) + 1
    return out


def per_shape(trails: list[Row], k: int) -> dict[str, Row]:
    """Per crumb shape: trails, bridge recall (trails whose bridge is in the top bridges), relay
    recall (relay trails), pathway recall (any) and recall@K, best rank of each trail."""
    out: dict[str, Row] = {}
    for shape in sorted({t["shape"] for t in trails}):
        ts = [t for t in trails if t["shape"] == shape]
        bridged = [t for t in ts if t["bridge"]]
        relayed = [t for t in ts if t["relay"]]
        out[shape] = {
            "trails": len(ts),
            "bridge_recall": _ratio(sum(bool(t["bridge_found"]) for t in bridged), len(bridged)) if bridged else None,
            "relay_recall": _ratio(sum(bool(t["relay_found"]) for t in relayed), len(relayed)) if relayed else None,
            "pathway_recall": _ratio(sum(t["rank"] is not None for t in ts), len(ts)),
            "pathway_recall_at_k": _ratio(sum(t["rank"] is not None and t["rank"] < k for t in ts), len(ts)),
            "ranks": [t["rank"] for t in ts],
            "queue_ranks": [t["queue_rank"] for t in ts],
        }
    return out


def score(results: Row, truth: Row, edges: set[EdgeKey] | None = None) -> Row:
    """Score one run against the planted truth (docs/quality.md, "How it is scored")."""
    trails = [_trail(t) for t in truth["trails"]]
    best, maps_to = match_clusters(results, truth)
    paths, order = _pathway_metrics(results, trails, maps_to)
    accounts = _accounts_metrics(results["flagged_accounts"], truth, trails)
    decoys = _decoys_flagged(results, truth)
    incidental_sources = {w["source_content_id"] for w in truth.get("incidental_walks", [])}
    top = order[: paths["k"]]
    real = None if edges is None else sum(is_real_walk(pw, edges) for pw in results["pathways"])
    return {
        **accounts,
        "decoys_flagged": decoys,
        "decoys_flagged_by_kind": _decoy_kinds(truth, decoys),
        "cluster_jaccard": rnd(float(np.mean(list(best.values())))) if best else 1.0,
        "clusters_missed": sorted(p for p, j in best.items() if j < MISSED_BELOW),
        "clusters_found": len(results["clusters"]),
        "trails": len(trails),
        **paths,
        "trail_coverage": paths["pathway_recall"],
        "incidental_walks_in_top_k": sum(
            pw["source"]["id"] in incidental_sources and not any(covers(pw, t, maps_to) for t in trails) for pw in top
        ),
        "real_walk_share": None if real is None else _ratio(real, len(results["pathways"])),
        "suspicious_flagged": accounts["flagged_contacts"],
        "per_shape": per_shape(trails, paths["k"]),
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
                    "score": 1.0 / max(1, len(walk) - 1),  # shortest first
                }
            )
    return {"clusters": clusters, "pathways": pathways, "flagged_accounts": bridges}


def run_one(
    accounts: int,
    seed: int,
    work: Path,
    background_mix: float = 0.0,
    world: str = "adversarial",
    keep: Path | None = None,
) -> Row:
    """Synthesise, ingest into a fresh embedded store, run all detectors and the baseline; score both."""
    from detectors.runfolder import read_results
    from detectors.runner import run_detectors
    from graph.projection import project
    from graph.store import StoreConfig, open_store
    from ingest.pipeline import load_snapshot
    from synth import synth

    tag = f"{accounts}-{seed}-{background_mix:g}-{world}"
    snap = work / f"snap-{tag}"
    synth(snap, accounts=accounts, seed=seed, force=True, background_mix=background_mix, world=world)
    truth = json.loads((snap / "truth.json").read_text())
    t0 = time.perf_counter()
    with open_store(StoreConfig(url=f"embedded:{work / f'store-{tag}.duckdb'}")) as store:
        store.ensure_schema()
        load_snapshot(snap, store)
        t1 = time.perf_counter()
        rec = run_detectors(store, runs_dir=work / "runs", freeze_projection=False)
        t2 = time.perf_counter()
        results = read_results(rec.run_dir or "")
        proj = project(store)
    if keep is not None:  # to score again without re-running
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"results-{tag}.json").write_text(json.dumps(results))
        (keep / f"truth-{tag}.json").write_text(json.dumps(truth))
    among = {n["id"] for pw in results["pathways"] for n in pw["nodes"]}
    edges = stored_edges(proj, among)
    base = baseline(proj)
    return {
        "accounts": accounts,
        "seed": seed,
        "background_mix": background_mix,
        "world": world,
        "ingest_s": round(t1 - t0, 2),
        "detect_s": round(t2 - t1, 2),
        "method": score(results, truth, edges),
        "baseline": score(base, truth, None),
    }


#: the columns of the printed table: (header, key in a scored row)
COLUMNS = (
    ("bridge R", "bridge_recall"),
    ("bridge P", "bridge_precision"),
    ("relay R", "relay_recall"),
    ("pw P@K", "pathway_precision_at_k"),
    ("pw R@K", "pathway_recall_at_k"),
    ("pw R", "pathway_recall"),
    ("Jaccard", "cluster_jaccard"),
    ("missed", "clusters_missed"),
    ("contact R", "contact_recall"),
    ("contact P", "contact_precision"),
    ("decoys", "decoys_flagged"),
    ("queue P@T", "queue_precision_at_t"),
    ("pathways", "pathways"),
    ("queue", "queue"),
    ("trails", "trails"),
)


def table(rows: list[Row]) -> str:
    """A Markdown table: one line per row and scorer, then per-shape pathway recall@K / bridge recall."""
    head = ["accounts", "seed", "mix", "scorer", *(h for h, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        for who in ("method", "baseline"):
            m = r[who]
            cells = [f"{r['accounts']:,}", str(r["seed"]), f"{r['background_mix']:g}"]
            cells.append("crumbgraph" if who == "method" else "naive k-hop")
            cells += [_cell(m[k]) for _, k in COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return str(len(v))
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def shape_table(rows: list[Row]) -> str:
    """Per size, mix and crumb shape, summed over seeds: trails, bridge recall, relay recall,
    pathway recall and recall@K (each a share of that shape's trails)."""
    agg: dict[tuple[int, float, str], list[float]] = {}
    for r in rows:
        for shape, s in r["method"]["per_shape"].items():
            a = agg.setdefault((r["accounts"], r["background_mix"], shape), [0, 0.0, 0, 0.0, 0, 0.0, 0.0])
            n = s["trails"]
            a[0] += n
            if s["bridge_recall"] is not None:
                a[1], a[2] = a[1] + s["bridge_recall"] * n, a[2] + n
            if s["relay_recall"] is not None:
                a[3], a[4] = a[3] + s["relay_recall"] * n, a[4] + n
            a[5] += s["pathway_recall"] * n
            a[6] += s["pathway_recall_at_k"] * n
    lines = [
        "| accounts | mix | shape | trails | bridge recall | relay recall | pathway recall | pathway recall@K |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for (n, mix, shape), a in sorted(agg.items()):
        br = f"{a[1] / a[2]:.2f}" if a[2] else "no bridge"
        rl = f"{a[3] / a[4]:.2f}" if a[4] else ""
        cells = [f"{n:,}", f"{mix:g}", f"`{shape}`", str(int(a[0])), br, rl, f"{a[5] / a[0]:.2f}", f"{a[6] / a[0]:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n < 1_000_000 else f"{n // 1_000_000}m"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, nargs="+", default=[20_000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--background-mix", type=float, nargs="+", default=[1.0])
    ap.add_argument("--world", choices=("adversarial", "classic"), default="adversarial")
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    ap.add_argument("--out", type=Path, default=None, help="one file for all rows instead of one per size and mix")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="also save each run's results.json and truth.json here")
    ap.add_argument("--tables", type=Path, nargs="+", default=None, help="print the tables of saved rows, run nothing")
    args = ap.parse_args(argv)
    if args.tables:
        saved = [r for f in args.tables for r in json.loads(f.read_text())]
        print(table(saved) + "\n\n" + shape_table(saved))
        return 0
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cg-quality-") as tmp:
        work = args.work or Path(tmp)
        for n in args.accounts:
            for mix in args.background_mix:
                group = [run_one(n, s, work, mix, args.world, args.keep) for s in args.seeds]
                for r in group:
                    print(json.dumps({k: v for k, v in r.items() if k != "baseline"}), flush=True)
                rows += group
                if not args.no_write and not args.out:
                    args.out_dir.mkdir(parents=True, exist_ok=True)
                    suffix = "" if args.world == "adversarial" else f"-{args.world}"
                    out = args.out_dir / f"quality-v2-{_size(n)}-mix{mix:g}{suffix}.json"
                    out.write_text(json.dumps(group, indent=1) + "\n")
    if args.out and not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    print()
    print(shape_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

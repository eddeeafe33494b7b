"""Breadcrumb pathways and exposure: the most probable walks (uniform clicking) from each
child-oriented content item into each abusive cluster within a hop limit, and the total
probability that a random walker starting there reaches any cluster."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd, short_hash
from detectors.navigation import Navigation
from graph.projection import NO_TIME, REL_TYPES, Projection

CHILD_ORIENTED = 1


class PathwayParams(DetectorParams):
    max_hops: int = Field(6, ge=1, le=12, description="hop limit of a pathway")
    min_probability: float = Field(1e-4, gt=0, le=1, description="walks less probable than this are not returned")
    per_source_cluster: int = Field(3, ge=1, description="walks per (source, cluster), each with a different first step")
    min_exposure: float = Field(1e-6, ge=0, description="exposure entries below this are left out of results")


def hop_limited_costs(nav: Navigation, rev: tuple[np.ndarray, np.ndarray], targets: np.ndarray, hops: int,
                      max_cost: float) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Exact hop-limited shortest walks to `targets` on step costs (Bellman-Ford in rounds, only
    relaxing steps into nodes that improved last round, pruning costs above `max_cost`).

    Returns (d_H, d_{H-1}, log): d_k[v] = least cost of a walk of <= k steps from v into a target;
    log[k-1] = (nodes improved in round k, sorted; the step taken) for rebuilding walks."""
    order, indptr = rev
    d = np.full(nav.n, np.inf)
    d[targets] = 0.0
    frontier = np.unique(targets)
    log: list[tuple[np.ndarray, np.ndarray]] = []
    d_prev_round = d.copy()
    for k in range(hops):
        if k == hops - 1:
            d_prev_round = d.copy()
        if frontier.size == 0:
            log.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
            continue
        starts, ends = indptr[frontier], indptr[frontier + 1]
        cnt = ends - starts
        total = int(cnt.sum())
        if total == 0:
            log.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
            frontier = frontier[:0]
            continue
        pos = np.repeat(starts - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(total)
        steps = order[pos]
        s = nav.src[steps]
        cand = nav.cost[steps] + d[nav.dst[steps]]
        ok = (cand <= max_cost) & (cand < d[s])
        steps, s, cand = steps[ok], s[ok], cand[ok]
        if steps.size == 0:
            log.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
            frontier = frontier[:0]
            continue
        srt = np.lexsort((steps, cand, s))
        s, cand, steps = s[srt], cand[srt], steps[srt]
        first = np.r_[True, s[1:] != s[:-1]]
        s, cand, steps = s[first].astype(np.int64), cand[first], steps[first]
        d[s] = cand   # all computed from the previous round's d: hop-exact (Jacobi update)
        log.append((s, steps))
        frontier = s
    if hops == 1:
        d_prev_round = np.full(nav.n, np.inf)
        d_prev_round[targets] = 0.0
    return d, d_prev_round, log


def rebuild_walk(nav: Navigation, log: list[tuple[np.ndarray, np.ndarray]], start: int, budget: int,
                 is_target: np.ndarray) -> list[int] | None:
    """Steps of the best walk of <= budget steps from `start` into a target (None if none)."""
    steps: list[int] = []
    v, k = start, budget
    while not is_target[v]:
        found = None
        for j in range(k, 0, -1):
            nodes, st = log[j - 1]
            i = np.searchsorted(nodes, v)
            if i < nodes.size and nodes[i] == v:
                found = (j, int(st[i]))
                break
        if found is None:
            return None
        j, step = found
        steps.append(step)
        v, k = int(nav.dst[step]), j - 1
    return steps


def exposure(nav: Navigation, targets: np.ndarray, hops: int) -> np.ndarray:
    """P(a uniform random walk from v enters a target within `hops` steps), for every v."""
    mat = nav.matrix()
    is_t = np.zeros(nav.n, bool)
    is_t[targets] = True
    x = is_t.astype(np.float64)
    for _ in range(hops):
        x = np.where(is_t, 1.0, mat @ x)
    return x


def _iso(us: int) -> str | None:
    if us == NO_TIME:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


class PathwayDetector(Detector):
    """Breadcrumb pathways and per-item exposure; see docs/detectors.md#breadcrumb-pathways."""

    name = "pathways"
    version = "1.0.0"
    Params = PathwayParams
    requires = ("clusters",)

    def run(self, projection: Projection, params: PathwayParams, context: DetectorContext) -> DetectorOutput:
        proj, p, nav = projection, params, context.navigation
        clusters = context.outputs["clusters"].state["clusters"]
        owner = context.outputs["clusters"].state.get("owner")
        cvids = np.arange(proj.offsets[1], proj.offsets[2])
        sources = cvids[proj.label[cvids] == CHILD_ORIENTED]
        out = DetectorOutput()
        max_cost = -math.log(p.min_probability)
        rev = nav.reverse_index()
        pathways: list[dict[str, Any]] = []
        walk_vids: dict[str, list[int]] = {}
        for ci, c in enumerate(clusters):
            targets = c["target_vids"]
            is_t = np.zeros(proj.n_nodes, bool)
            is_t[targets] = True
            d, d_prev, log = hop_limited_costs(nav, rev, targets, p.max_hops, max_cost)
            cand_sources = sources[np.isfinite(d[sources]) & ~is_t[sources]]
            for s in cand_sources.tolist():
                lo, hi = nav.indptr[s], nav.indptr[s + 1]
                first = np.arange(lo, hi)
                tot = nav.cost[first] + d_prev[nav.dst[first]]
                good = np.flatnonzero(tot <= max_cost)
                if good.size == 0:
                    continue
                ranked = good[np.lexsort((first[good], tot[good]))]
                found = 0
                seen_second: set[int] = set()
                for gi in ranked.tolist():
                    e0 = int(first[gi])
                    u = int(nav.dst[e0])
                    if u in seen_second:   # duplicate step (two stored edges to the same node)
                        continue
                    rest = rebuild_walk(nav, log, u, p.max_hops - 1, is_t)
                    if rest is None:
                        continue
                    steps = [e0, *rest]
                    nodes = [s, *[int(nav.dst[e]) for e in steps]]
                    if len(set(nodes)) != len(nodes):
                        continue   # not a simple walk: it would pass the same node twice
                    seen_second.add(u)
                    pw = self._pathway(proj, nav, c, ci, steps, nodes, owner)
                    pathways.append(pw)
                    walk_vids[pw["pathway_id"]] = nodes
                    found += 1
                    if found >= p.per_source_cluster:
                        break
        all_targets = np.flatnonzero(owner >= 0) if owner is not None else np.zeros(0, np.int64)
        x = exposure(nav, all_targets, p.max_hops) if all_targets.size else np.zeros(proj.n_nodes)
        exp_sources = sources[owner[sources] < 0] if owner is not None else sources
        exp_rows = [{"content_id": proj.node_id(v), "probability": rnd(float(x[v]))}
                    for v in exp_sources[x[exp_sources] >= max(p.min_exposure, 1e-300)].tolist()]
        exp_rows.sort(key=lambda r: (-r["probability"], r["content_id"]))
        pathways.sort(key=lambda r: (-r["score"], r["pathway_id"]))
        out.sections["pathways"] = pathways
        out.sections["exposure"] = exp_rows
        out.state.update(pathways=pathways, walk_vids=walk_vids, reach=x)
        out.counts.update(pathways=len(pathways), exposed_items=len(exp_rows), child_oriented_items=int(sources.size))
        return out

    @staticmethod
    def _pathway(proj: Projection, nav: Navigation, cluster: dict[str, Any], ci: int, steps: list[int],
                 nodes: list[int], owner: np.ndarray | None) -> dict[str, Any]:
        prob = float(np.prod(nav.prob[steps]))
        refs = [proj.node_ref(v) for v in nodes]
        for ref, v in zip(refs, nodes):
            if ref["kind"] == "content":
                ref["content_kind"] = proj.content_kind_of(v)
        member_of = owner if owner is not None else np.full(proj.n_nodes, -1)
        source_owner = int(proj.author[nodes[0]])
        creators: list[str] = []
        hop_creators: list[str | None] = []
        for e in steps:
            cr = int(nav.creator[e])
            hop_creators.append(proj.node_id(cr) if cr >= 0 else None)
            if cr >= 0 and nav.credit[e] and member_of[cr] < 0 and cr != source_owner:
                cid = proj.node_id(cr)
                if cid not in creators:
                    creators.append(cid)
        key = "|".join(f"{r['kind']}:{r['id']}" for r in refs)
        return {
            "pathway_id": "pw-" + short_hash(cluster["cluster_id"], key, n=16),
            "source": {"kind": "content", "id": refs[0]["id"]},
            "cluster_id": cluster["cluster_id"],
            "nodes": refs,
            "edges": [REL_TYPES[int(proj.etype[nav.edge[e]])].value for e in steps],
            "directions": ["forward" if nav.forward[e] else "backward" for e in steps],
            "hop_probabilities": [rnd(float(nav.prob[e])) for e in steps],
            "created_at": [_iso(int(proj.created_at[nav.edge[e]])) for e in steps],
            "created_by": hop_creators,
            "bridges": sorted(creators),
            "score": rnd(prob),
        }

"""Breadcrumb pathways and exposure: the most probable walks (uniform clicking) from each
child-oriented content item into each abusive cluster within a hop limit, and the total
probability that a random walker starting there reaches any cluster."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd, short_hash
from detectors.clusters import FoundCluster
from detectors.crumbs import attribute_all, bio_link_walks, relay_walks
from detectors.navigation import Navigation
from detectors.queue import Ranked, Walk, rank
from detectors.results import ExposureEntry, NodeRef, Pathway
from graph.model import ContentLabel, Direction, NodeKind, RelType
from graph.projection import KIND_CODE, KINDS, NO_TIME, REL_TYPES, Projection, unique_ints

logger = logging.getLogger(__name__)

CHILD_ORIENTED = ContentLabel.CHILD_ORIENTED.code
CONTENT = KIND_CODE[NodeKind.CONTENT.value]


class PathwayParams(DetectorParams):
    max_hops: int = Field(6, ge=1, le=12, description="hop limit of a pathway")
    min_probability: float = Field(1e-4, gt=0, le=1, description="walks less probable than this are not returned")
    per_source_cluster: int = Field(
        3, ge=1, description="walks per (source, cluster), each with a different first step"
    )
    min_exposure: float = Field(1e-6, ge=0, description="exposure entries below this are left out of results")
    min_tier: int = Field(
        2,
        ge=0,
        le=3,
        description="walks of a lower queue tier are counted but left out of results (1: also other "
        "ways in through crumb layers and members' own content; 0: incidental walks too; every "
        "item's reach stays in `exposure`)",
    )


class _Hop(NamedTuple):
    """What a pathway records of one navigation step."""

    rel: RelType
    direction: Direction
    prob: float
    created_at: str | None  # ISO-8601 UTC of the stored relationship
    created_by: str | None  # id of the account that created the reference
    credits: bool  # the step lays a crumb and its creator is no cluster member
    creator: int  # vid of that account (-1: none)


@dataclass
class HopSearch:
    """Result of hop_limited_costs. `d[v]` = least cost of a walk of <= H steps from v into a
    target; `log[k-1]` = (nodes improved in round k, sorted; the step taken); `last_old` = the
    values those of round H had before it, so d_{H-1} is d with them put back (see `d_before_last`)."""

    d: np.ndarray
    log: list[tuple[np.ndarray, np.ndarray]]
    last_old: np.ndarray
    targets: np.ndarray

    def d_before_last(self, v: np.ndarray) -> np.ndarray:
        """d_{H-1} at the nodes `v` (walks of at most H-1 steps)."""
        vals = self.d[v].copy()
        nodes = self.log[-1][0] if self.log else np.zeros(0, np.int64)
        if nodes.size:
            pos = np.minimum(np.searchsorted(nodes, v), nodes.size - 1)
            hit = nodes[pos] == v
            vals[hit] = self.last_old[pos[hit]]
        return np.asarray(vals, np.float64)

    def release(self) -> None:
        """Reset the touched entries of the shared `d` buffer to inf for the next search."""
        self.d[self.targets] = np.inf
        for nodes, _ in self.log:
            self.d[nodes] = np.inf


def hop_limited_costs(
    nav: Navigation,
    rev: tuple[np.ndarray, np.ndarray],
    targets: np.ndarray,
    hops: int,
    max_cost: float,
    d: np.ndarray | None = None,
) -> HopSearch:
    """Exact hop-limited least-cost walks into `targets` on step costs: Bellman-Ford in `hops`
    rounds, relaxing only the steps into nodes that improved the round before (reverse CSR
    `rev`), every candidate computed from the previous round's values (so k rounds = k hops),
    costs above `max_cost` pruned. `d` may be a reusable all-inf buffer of length n (call
    `release()` afterwards); touching only reached nodes keeps a search over a small region cheap."""
    order, indptr = rev
    if d is None:
        d = np.full(nav.n, np.inf)
    targets = unique_ints(np.asarray(targets, np.int64))
    d[targets] = 0.0
    frontier = targets
    log: list[tuple[np.ndarray, np.ndarray]] = []
    last_old = np.zeros(0)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for _ in range(hops):
        if frontier.size == 0:
            log.append(empty)
            last_old = np.zeros(0)
            continue
        starts, ends = indptr[frontier], indptr[frontier + 1]
        cnt = ends - starts
        total = int(cnt.sum())
        pos = np.repeat(starts - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(total)
        steps = order[pos]
        s = nav.src[steps].astype(np.int64)
        cand = nav.cost[steps] + d[nav.dst[steps]]
        ok = (cand <= max_cost) & (cand < d[s])
        steps, s, cand = steps[ok], s[ok], cand[ok]
        if steps.size == 0:
            log.append(empty)
            last_old = np.zeros(0)
            frontier = frontier[:0]
            continue
        srt = np.lexsort((steps, cand, s))
        s, cand, steps = s[srt], cand[srt], steps[srt]
        first = np.r_[True, s[1:] != s[:-1]]
        s, cand, steps = s[first], cand[first], steps[first]
        last_old = d[s].copy()
        d[s] = cand  # every cand came from the previous round's d: hop-exact (Jacobi update)
        log.append((s, steps))
        frontier = s
    return HopSearch(d=d, log=log, last_old=last_old, targets=targets)


def rebuild_walk(
    nav: Navigation, log: list[tuple[np.ndarray, np.ndarray]], start: int, budget: int, is_target: np.ndarray
) -> list[int] | None:
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


def rebuild_walks(
    nav: Navigation, log: list[tuple[np.ndarray, np.ndarray]], starts: np.ndarray, budget: int, is_target: np.ndarray
) -> np.ndarray:
    """rebuild_walk for many starts at once (vectorised per hop and round): an (m, budget) array of
    step indices, -1 padded; a row of all -1 with a non-target start means no walk."""
    m = int(starts.size)
    steps = np.full((m, max(budget, 1)), -1, np.int64)
    cur = starts.astype(np.int64).copy()
    k = np.full(m, budget, np.int64)
    active = ~is_target[cur]
    for h in range(budget):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        found = np.full(idx.size, -1, np.int64)
        found_j = np.zeros(idx.size, np.int64)
        for j in range(budget, 0, -1):
            need = np.flatnonzero((found < 0) & (k[idx] >= j))
            nodes, st = log[j - 1]
            if need.size == 0 or nodes.size == 0:
                continue
            q = cur[idx[need]]
            pos = np.minimum(np.searchsorted(nodes, q), nodes.size - 1)
            hit = nodes[pos] == q
            found[need[hit]] = st[pos[hit]]
            found_j[need[hit]] = j
        ok = found >= 0
        active[idx[~ok]] = False
        idx, found, found_j = idx[ok], found[ok], found_j[ok]
        steps[idx, h] = found
        cur[idx] = nav.dst[found]
        k[idx] = found_j - 1
        active[idx] = ~is_target[cur[idx]]
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


#: a walk found by the search: (index of the cluster, navigation steps, node vids)
RawWalk = tuple[int, list[int], list[int]]


def find_walks(proj: Projection, nav: Navigation, clusters: list[FoundCluster], p: PathwayParams) -> list[RawWalk]:
    """The best walks from child-oriented content into each cluster, one hop-limited search per
    cluster (see docs/detectors.md#breadcrumb-pathways), in cluster then source order."""
    max_cost = -math.log(p.min_probability)
    rev = nav.reverse_index()
    raw: list[RawWalk] = []
    d_buf = np.full(proj.n_nodes, np.inf)  # shared by the per-cluster searches
    is_t = np.zeros(proj.n_nodes, bool)
    for ci, c in enumerate(clusters):
        is_t[c.target_vids] = True
        search = hop_limited_costs(nav, rev, c.target_vids, p.max_hops, max_cost, d=d_buf)
        raw += [(ci, steps, nodes) for steps, nodes in _walks_into(proj, nav, search, is_t, p, max_cost)]
        search.release()
        is_t[c.target_vids] = False
    return raw


def _walks_into(
    proj: Projection, nav: Navigation, search: HopSearch, is_t: np.ndarray, p: PathwayParams, max_cost: float
) -> list[tuple[list[int], list[int]]]:
    """(steps, nodes) of up to per_source_cluster simple walks from each child-oriented item the
    search reached into the targets `is_t`, each through a different first step, cheapest first."""
    reached = unique_ints(np.concatenate([nodes for nodes, _ in search.log] or [np.zeros(0, np.int64)]))
    cand = reached[(proj.label[reached] == CHILD_ORIENTED) & (proj.kind[reached] == CONTENT)]
    cand = cand[~is_t[cand]]
    if cand.size == 0:
        return []
    # every first step of every candidate source, with the best total cost through it
    lo, hi = nav.indptr[cand], nav.indptr[cand + 1]
    cnt = hi - lo
    first = np.repeat(lo - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(int(cnt.sum()))
    src_of = np.repeat(cand, cnt)
    tot = nav.cost[first] + search.d_before_last(nav.dst[first].astype(np.int64))
    good = tot <= max_cost
    first, src_of, tot = first[good], src_of[good], tot[good]
    order = np.lexsort((first, tot, src_of))
    first, src_of = first[order], src_of[order]
    rest = rebuild_walks(nav, search.log, nav.dst[first], p.max_hops - 1, is_t)
    walks: list[tuple[list[int], list[int]]] = []
    found: dict[int, int] = {}
    seen_second: set[tuple[int, int]] = set()
    for row, (s, e0) in enumerate(zip(src_of.tolist(), first.tolist())):
        if found.get(s, 0) >= p.per_source_cluster:
            continue
        u = int(nav.dst[e0])
        if (s, u) in seen_second:  # a parallel step (two stored edges to the same node)
            continue
        tail = [int(e) for e in rest[row] if e >= 0]
        nodes = [s, u, *[int(nav.dst[e]) for e in tail]]
        if not is_t[nodes[-1]] or len(set(nodes)) != len(nodes):
            continue  # no walk, or not a simple one (it would pass the same node twice)
        seen_second.add((s, u))
        walks.append(([e0, *tail], nodes))
        found[s] = found.get(s, 0) + 1
    return walks


def exposure_rows(
    proj: Projection, nav: Navigation, sources: np.ndarray, owner: np.ndarray | None, p: PathwayParams
) -> tuple[np.ndarray, list[ExposureEntry]]:
    """(reach of every node, the exposure section): the probability of entering any cluster
    within the hop limit, listed for child-oriented items no cluster owns, most exposed first."""
    all_targets = np.flatnonzero(owner >= 0) if owner is not None else np.zeros(0, np.int64)
    x = exposure(nav, all_targets, p.max_hops) if all_targets.size else np.zeros(proj.n_nodes)
    exp_sources = sources[owner[sources] < 0] if owner is not None else sources
    shown = exp_sources[x[exp_sources] >= max(p.min_exposure, 1e-300)]
    rows = [
        ExposureEntry(content_id=cid, probability=rnd(float(pr)))
        for cid, pr in zip(proj.id_list(shown), x[shown].tolist())
    ]
    rows.sort(key=lambda r: (-r.probability, r.content_id))
    return x, rows


def with_pattern_walks(found: list[RawWalk], patterns: list[RawWalk]) -> list[RawWalk]:
    """The found walks plus the pattern walks (relays, bio links) the search did not find, in
    cluster then source order."""
    seen = {(ci, tuple(nodes)) for ci, _, nodes in found}
    extra = []
    for w in patterns:
        if (w[0], tuple(w[2])) not in seen:
            seen.add((w[0], tuple(w[2])))
            extra.append(w)
    return sorted(found + extra, key=lambda w: (w[0], w[2][0])) if extra else found


class PathwayDetector(Detector[PathwayParams]):
    """Breadcrumb pathways, their crumbs and queue order, and per-item exposure; see
    docs/detectors.md#breadcrumb-pathways."""

    name = "pathways"
    version = "2.0.0"
    Params = PathwayParams
    requires = ("clusters",)

    def run(self, projection: Projection, params: PathwayParams, context: DetectorContext) -> DetectorOutput:
        proj, p, nav = projection, params, context.navigation
        cstate = context.outputs["clusters"].state
        clusters: list[FoundCluster] = cstate["clusters"]
        owner: np.ndarray | None = cstate.get("owner")
        member = cstate.get("member_cluster")
        member_cluster = member if member is not None else np.full(proj.n_nodes, -1, np.int32)
        cvids = np.arange(proj.offsets[1], proj.offsets[2])
        sources = cvids[proj.label[cvids] == CHILD_ORIENTED]
        found = find_walks(proj, nav, clusters, p)
        if owner is not None:
            is_source = proj.label == CHILD_ORIENTED
            patterns = relay_walks(proj, nav, owner, member_cluster, is_source)
            patterns += bio_link_walks(proj, nav, owner, member_cluster, is_source)
            found = with_pattern_walks(found, [w for w in patterns if len(w[1]) <= p.max_hops])
        pathways, walk_vids, left_out = build_pathways(proj, nav, clusters, found, owner, member_cluster, p.min_tier)
        pathways.sort(key=lambda r: (-r.score, r.pathway_id))
        reach, exp_rows = exposure_rows(proj, nav, sources, owner, p)
        out = DetectorOutput()
        out.sections.pathways = pathways
        out.sections.exposure = exp_rows
        out.state.update(pathways=pathways, walk_vids=walk_vids, reach=reach)
        out.counts.update(
            pathways=len(pathways),
            trails=sum(pw.trail == pw.pathway_id for pw in pathways),
            walks_below_min_tier=left_out,
            exposed_items=len(exp_rows),
            child_oriented_items=int(sources.size),
        )
        logger.info(
            "pathways: %d pathways (%d trails) from %d child-oriented items into %d clusters, %d items exposed",
            len(pathways),
            out.counts["trails"],
            sources.size,
            len(clusters),
            len(exp_rows),
        )
        return out


@dataclass(frozen=True)
class _Lookups:
    """Per distinct node and step of the found walks: names, node refs, hop facts."""

    names: dict[int, str]
    kinds: dict[int, str]
    refs: dict[int, NodeRef]
    hops: dict[int, _Hop]


def _lookups(proj: Projection, nav: Navigation, raw: list[RawWalk], member_of: np.ndarray) -> _Lookups:
    """Every id, kind, time and probability looked up once per distinct node or step (vectorised)."""
    all_nodes = unique_ints(np.array([v for _, _, nodes in raw for v in nodes], np.int64))
    all_steps = unique_ints(np.array([e for _, steps, _ in raw for e in steps], np.int64))
    creators = nav.creator[all_steps].astype(np.int64)
    named = unique_ints(np.concatenate([all_nodes, creators[creators >= 0]]))
    names = dict(zip(named.tolist(), proj.id_list(named)))
    kinds = dict(zip(all_nodes.tolist(), [KINDS[k].value for k in proj.kind[all_nodes].tolist()]))
    cnodes = all_nodes[proj.kind[all_nodes] == CONTENT]
    ckinds = dict(zip(cnodes.tolist(), proj.content_kind.take(pa.array(cnodes - proj.offsets[1])).to_pylist()))
    ts = proj.created_at[nav.edge[all_steps]]
    iso = np.datetime_as_string(np.where(ts == NO_TIME, 0, ts).astype("datetime64[us]"), unit="s")
    hops = {
        e: _Hop(
            REL_TYPES[t],
            Direction.FORWARD if f else Direction.BACKWARD,
            pr,
            None if raw_ts == NO_TIME else f"{i}Z",
            names[c] if c >= 0 else None,
            bool(cr) and c >= 0 and member_of[c] < 0,
            c,
        )
        for e, t, f, pr, raw_ts, i, c, cr in zip(
            all_steps.tolist(),
            proj.etype[nav.edge[all_steps]].tolist(),
            nav.forward[all_steps].tolist(),
            nav.prob[all_steps].tolist(),
            ts.tolist(),
            iso.tolist(),
            creators.tolist(),
            nav.credit[all_steps].tolist(),
        )
    }
    refs = {v: _node_ref(kinds[v], names[v], ckinds.get(v)) for v in all_nodes.tolist()}
    return _Lookups(names=names, kinds=kinds, refs=refs, hops=hops)


def walk_ids(proj: Projection, clusters: list[FoundCluster], raw: list[RawWalk]) -> list[str]:
    """The pathway id of each raw walk: a hash of its cluster and its nodes' kinds and ids."""
    all_nodes = unique_ints(np.array([v for _, _, nodes in raw for v in nodes], np.int64))
    names = dict(zip(all_nodes.tolist(), proj.id_list(all_nodes)))
    kinds = dict(zip(all_nodes.tolist(), [KINDS[k].value for k in proj.kind[all_nodes].tolist()]))
    return [
        "pw-" + short_hash(clusters[ci].cluster_id, "|".join(f"{kinds[v]}:{names[v]}" for v in nodes), n=16)
        for ci, _, nodes in raw
    ]


def build_pathways(
    proj: Projection,
    nav: Navigation,
    clusters: list[FoundCluster],
    raw: list[RawWalk],
    owner: np.ndarray | None,
    member_cluster: np.ndarray,
    min_tier: int = 0,
) -> tuple[list[Pathway], dict[str, list[int]], int]:
    """Pathway records for the raw walks whose trail reaches `min_tier`: the walk, its crumb
    (detectors/crumbs.py) and its place in the queue (detectors/queue.py); and how many walks
    were left out. Every walk is ranked (a trail's evidence counts all of them), only the kept
    ones are looked up and built."""
    if not raw:
        return [], {}, 0
    crumbs = attribute_all(proj, nav, [(steps, nodes) for _, steps, nodes in raw], member_cluster)
    walks = [
        Walk(
            pathway_id=pid,
            source=nodes[0],
            cluster=ci,
            nodes=nodes,
            last_rel=int(proj.etype[nav.edge[steps[-1]]]),
            last_forward=bool(nav.forward[steps[-1]]),
            probability=math.prod(nav.prob[steps].tolist()),
            crumb=crumb,
        )
        for (ci, steps, nodes), crumb, pid in zip(raw, crumbs, walk_ids(proj, clusters, raw))
    ]
    ranked = rank(proj, walks, member_cluster)
    keep = [i for i, r in enumerate(ranked) if r.tier >= min_tier]
    if not keep:
        return [], {}, len(raw)
    lk = _lookups(proj, nav, [raw[i] for i in keep], owner if owner is not None else np.full(proj.n_nodes, -1))
    pathways = [_pathway(proj, lk, clusters[raw[i][0]].cluster_id, raw[i][1], walks[i], ranked[i]) for i in keep]
    return pathways, {walks[i].pathway_id: walks[i].nodes for i in keep}, len(raw) - len(keep)


def _pathway(proj: Projection, lk: _Lookups, cluster_id: str, steps: list[int], w: Walk, r: Ranked) -> Pathway:
    info = [lk.hops[e] for e in steps]
    source_owner = int(proj.author[w.source])
    c = w.crumb
    return Pathway(
        pathway_id=w.pathway_id,
        source=NodeRef(kind=NodeKind.CONTENT, id=lk.names[w.source]),
        cluster_id=cluster_id,
        nodes=[lk.refs[v] for v in w.nodes],
        edges=[h.rel for h in info],
        directions=[h.direction for h in info],
        hop_probabilities=[rnd(h.prob) for h in info],
        created_at=[h.created_at for h in info],
        created_by=[h.created_by for h in info],
        bridges=sorted({h.created_by for h in info if h.created_by and h.credits and h.creator != source_owner}),
        probability=rnd(w.probability),
        shape=c.shape,
        laid_by=[proj.node_id(c.layer)] if c.layer >= 0 else [],
        relays=[proj.node_id(c.relay)] if c.relay >= 0 else [],
        crumbs=list(c.laid_hops),
        tier=r.tier,
        evidence=rnd(r.evidence),
        evidence_terms={k: rnd(v) for k, v in r.terms.items()},
        trail=r.trail,
        duplicates=r.duplicates,
        score=rnd(r.score),
    )


def _node_ref(kind: str, node_id: str, content_kind: str | None) -> NodeRef:
    """A pathway node (shared by every pathway through it: the models are immutable)."""
    if kind == NodeKind.CONTENT:
        return NodeRef(kind=NodeKind.CONTENT, id=node_id, content_kind=content_kind or "content")
    return NodeRef(kind=NodeKind(kind), id=node_id)

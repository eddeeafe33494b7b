"""The ranked pathway queue: each walk's evidence that someone laid it on purpose (its crumb held
against how the platform behaves at large), its tier, its queue score, and near-duplicate walks
collapsed into trails; see docs/detectors.md#the-queue."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from detectors.clusters import account_owner
from detectors.crumbs import LAID_SHAPES, Crumb
from detectors.results import TIER_CONTACT, TIER_INCIDENTAL, TIER_LAID, TIER_RECOMMENDED, CrumbShape
from graph.model import RelType
from graph.projection import KIND_CODE, REL_CODE, Projection

logger = logging.getLogger(__name__)

#: evidence points per term (docs/detectors.md#the-queue)
W_SOURCES, W_LAID, W_ANCHORED, W_POINTER, W_TIED, W_OWNED_TOKEN = 2.0, 2.0, 3.0, 3.0, 2.0, 2.0
MAX_SURPRISE = 6.0
#: E at which a trail gets half of the 0.9 evidence part of its score
E_HALF = 10.0
TOKENS = (KIND_CODE["url"], KIND_CODE["hashtag"])
TIERS = (TIER_LAID, TIER_RECOMMENDED, TIER_CONTACT, TIER_INCIDENTAL)


def tier_of(crumb: Crumb, bridges: set[int] | None = None) -> int:
    """3: a crumb laid at the source (the layer's comment or share of the child item, pointing
    onward); 2: the platform recommends cluster content from it; 1: a member's own comment on or
    share of it, or another way in through an account that lays tier-3 crumbs (`bridges`): a
    crumb away from the source, a plain comment whose author's bio or follows lead in;
    0: incidental (an ordinary account's follow of a member included)."""
    if crumb.shape in LAID_SHAPES and crumb.pointer:
        return TIER_LAID
    if crumb.shape == CrumbShape.RECOMMENDATION:
        return TIER_RECOMMENDED
    if crumb.shape == CrumbShape.MEMBER_CONTENT:
        return TIER_CONTACT
    if crumb.layer >= 0 and (bridges is None or crumb.layer in bridges):
        return TIER_CONTACT
    return TIER_INCIDENTAL


@dataclass(frozen=True)
class Walk:
    """What the queue reads of one found walk."""

    pathway_id: str
    source: int  # vid
    cluster: int  # index of the cluster
    nodes: list[int]
    last_rel: int  # REL_CODE of the hop entering the cluster
    last_forward: bool
    probability: float
    crumb: Crumb


@dataclass(frozen=True)
class Ranked:
    """A walk's place in the queue: its own tier and evidence terms, and the trail's score."""

    tier: int
    evidence: float
    terms: dict[str, float]
    score: float
    trail: str
    duplicates: int


def surprise(proj: Projection, walks: list[Walk]) -> list[float]:
    """How surprising the reference entering the cluster is against the platform at large:
    log10(references of that type / references of that type to this node), capped; 0 for a
    walk that enters by clicking backwards (no reference points into the cluster)."""
    target = np.zeros(proj.n_nodes, bool)
    for w in walks:
        if w.last_forward:
            target[w.nodes[-1]] = True
    per_type = np.bincount(proj.etype, minlength=len(REL_CODE)).astype(np.float64)
    hit = target[proj.dst]
    key = proj.etype[hit].astype(np.int64) * proj.n_nodes + proj.dst[hit].astype(np.int64)
    keys, counts = np.unique(key, return_counts=True)
    into = dict(zip(keys.tolist(), counts.tolist()))
    out = []
    for w in walks:
        n = into.get(w.last_rel * proj.n_nodes + w.nodes[-1], 0) if w.last_forward else 0
        out.append(min(MAX_SURPRISE, math.log10(per_type[w.last_rel] / n)) if n else 0.0)
    return out


def cluster_ties(proj: Projection, layers: set[int], member_cluster: np.ndarray) -> set[tuple[int, int]]:
    """(account, cluster) pairs where one of `layers` follows a member of the cluster."""
    if not layers:
        return set()
    is_layer = np.zeros(proj.n_nodes, bool)
    is_layer[np.fromiter(layers, np.int64)] = True
    f = (proj.etype == REL_CODE[RelType.FOLLOWS.value]) & is_layer[proj.src]
    src, dst = proj.src[f].astype(np.int64), account_owner(proj, proj.dst[f])
    cl = np.where(dst >= 0, member_cluster[np.maximum(dst, 0)], -1)
    return set(zip(src[cl >= 0].tolist(), cl[cl >= 0].tolist()))


def evidence_terms(proj: Projection, walks: list[Walk], member_cluster: np.ndarray) -> list[dict[str, float]]:
    """Each walk's evidence terms: distinct child sources its layer's crumbs start from, references
    the layer laid on it, a crumb anchored at the source, the layer's follows of the cluster, a
    cluster-owned URL/hashtag at the end, and the surprise of the reference entering the cluster."""
    sources: dict[int, set[int]] = defaultdict(set)
    for w in walks:
        if w.crumb.layer >= 0 and w.crumb.shape in LAID_SHAPES and w.crumb.pointer:
            sources[w.crumb.layer].add(w.source)
    ties = cluster_ties(proj, {w.crumb.layer for w in walks if w.crumb.layer >= 0}, member_cluster)
    surprises = surprise(proj, walks)
    out = []
    for w, s in zip(walks, surprises):
        c = w.crumb
        out.append(
            {
                "sources": W_SOURCES * math.log2(1 + len(sources.get(c.layer, ()))),
                "laid": W_LAID * min(len(c.laid_hops), 2),
                "anchored": W_ANCHORED * c.anchored,
                "pointer": W_POINTER * c.pointer,
                "tied": W_TIED * ((c.layer, w.cluster) in ties),
                "owned_token": W_OWNED_TOKEN * (int(proj.kind[w.nodes[-1]]) in TOKENS),
                "surprise": s,
            }
        )
    return out


def trail_key(w: Walk) -> tuple[int, int, int, str]:
    """Near-duplicates: same source, same cluster, same crumb layer (or, with none, same shape)."""
    if w.crumb.layer >= 0:
        return (w.source, w.cluster, w.crumb.layer, "")
    return (w.source, w.cluster, -1, w.crumb.shape.value)


def rank(proj: Projection, walks: list[Walk], member_cluster: np.ndarray) -> list[Ranked]:
    """Tier, evidence and queue score of every walk. The walks of one trail carry their
    representative's tier, evidence and terms (the representative: highest own tier, then
    evidence, then probability, then pathway id); each keeps its own probability in the score,
    capped at the representative's so that the representative leads its trail."""
    terms = evidence_terms(proj, walks, member_cluster)
    layers = {w.crumb.layer for w in walks if tier_of(w.crumb) == TIER_LAID}
    own = [(tier_of(w.crumb, layers), round(sum(t.values()), 9), w.probability) for w, t in zip(walks, terms)]
    groups: dict[tuple[int, int, int, str], list[int]] = defaultdict(list)
    for i, w in enumerate(walks):
        groups[trail_key(w)].append(i)
    out: list[Ranked | None] = [None] * len(walks)
    for idx in groups.values():
        idx.sort(key=lambda i: (-own[i][0], -own[i][1], -own[i][2], walks[i].pathway_id))
        rep = idx[0]
        tier, e, p_rep = own[rep]
        base = tier + 0.9 * e / (e + E_HALF)
        for i in idx:
            out[i] = Ranked(
                tier=tier,
                evidence=e,
                terms=terms[rep],
                score=base + 0.1 * min(walks[i].probability, p_rep),
                trail=walks[rep].pathway_id,
                duplicates=len(idx) - 1,
            )
    ranked = [r for r in out if r is not None]
    logger.info(
        "queue: %d walks in %d trails (%d laid, %d recommended, %d contact, %d incidental)",
        len(walks),
        len(groups),
        *(sum(own[idx[0]][0] == t for idx in groups.values()) for t in TIERS),
    )
    return ranked

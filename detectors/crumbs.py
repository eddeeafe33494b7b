"""Crumb attribution: which shape of breadcrumb a pathway follows into its cluster, who laid it
(the bridge), and which relay it passes; see docs/detectors.md#crumb-attribution."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from detectors.navigation import Navigation
from detectors.results import CrumbShape
from graph.model import RelType
from graph.projection import KIND_CODE, REL_CODE, Projection

logger = logging.getLogger(__name__)

ACCOUNT = KIND_CODE["account"]
_REL = {rel: REL_CODE[rel.value] for rel in RelType}
#: the first hop of an anchored crumb, walked backwards: a comment under the child item, a share of it
ANCHOR_RELS = frozenset({_REL[RelType.REPLY_TO], _REL[RelType.SHARES]})
#: shapes whose crumb an account laid by hand (tier `LAID`); the others are the platform's or nobody's
LAID_SHAPES: frozenset[CrumbShape] = frozenset(
    {
        CrumbShape.COMMENT_MENTION,
        CrumbShape.BIO_LINK,
        CrumbShape.CODED_HASHTAG,
        CrumbShape.URL_LINK,
        CrumbShape.RESHARE,
        CrumbShape.RELAY,
    }
)


@dataclass(frozen=True)
class Crumb:
    """What crumb a walk follows: its `shape`, the account that laid it (`layer`, -1: none), the
    relay account it passes (-1: none), the hops the layer laid (`laid_hops`), whether the
    layer's own content sits right at the source (`anchored`: the first hop reaches the layer's
    comment under it or share of it) and whether that content points somewhere (`pointer`: it
    mentions, tags, links or shares)."""

    shape: CrumbShape
    layer: int
    relay: int
    laid_hops: tuple[int, ...]
    anchored: bool
    pointer: bool


@dataclass(frozen=True)
class HopFacts:
    """Per navigation step, what attribution needs: stored type, direction, creator, credit."""

    rel: np.ndarray  # int8 REL_CODE of the stored relationship
    forward: np.ndarray
    creator: np.ndarray  # account vid (-1: the platform)
    credit: np.ndarray

    @classmethod
    def of(cls, proj: Projection, nav: Navigation) -> HopFacts:
        return cls(rel=proj.etype[nav.edge], forward=nav.forward, creator=nav.creator, credit=nav.credit)


def attribute(
    proj: Projection, hops: HopFacts, steps: list[int], nodes: list[int], member: np.ndarray, points: np.ndarray
) -> Crumb:
    """Classify one walk (navigation `steps`, node vids `nodes`, source first) by the hop that
    enters the cluster; `member[a]` >= 0 marks cluster members. A crumb is laid by an account
    that is no member and not the source's own author (the same rule as `bridges`)."""
    owner = int(proj.author[nodes[0]])
    credited = [
        i
        for i, e in enumerate(steps)
        if hops.credit[e] and hops.creator[e] >= 0 and member[hops.creator[e]] < 0 and hops.creator[e] != owner
    ]
    last = len(steps) - 1
    e = steps[last]
    rel, fwd, creator = int(hops.rel[e]), bool(hops.forward[e]), int(hops.creator[e])
    shape, layer, relay = _shape_of(proj, hops, steps, nodes, set(credited), rel, fwd, creator)
    if shape is None:
        if rel == _REL[RelType.RECOMMENDS] and len(steps) == 1:
            shape = CrumbShape.RECOMMENDATION
        elif rel == _REL[RelType.FOLLOWS] and last in credited:
            shape, layer = CrumbShape.FOLLOW, creator
        elif len(steps) == 1:
            shape = CrumbShape.MEMBER_CONTENT  # a member's own comment on / share of the child item
        else:
            shape = CrumbShape.INCIDENTAL
    laid = tuple(i for i in credited if layer >= 0 and int(hops.creator[steps[i]]) == layer)
    first = steps[0]
    on_source = int(hops.rel[first]) in ANCHOR_RELS and not hops.forward[first]  # a comment on / share of it
    anchored = layer >= 0 and len(nodes) > 2 and on_source and int(proj.author[nodes[1]]) == layer
    pointer = anchored and bool(points[nodes[1]])
    return Crumb(shape=shape, layer=layer, relay=relay, laid_hops=laid, anchored=anchored, pointer=pointer)


def _shape_of(
    proj: Projection,
    hops: HopFacts,
    steps: list[int],
    nodes: list[int],
    credited: set[int],
    rel: int,
    fwd: bool,
    creator: int,
) -> tuple[CrumbShape | None, int, int]:
    """(shape, layer, relay) of a crumb an account laid on the walk's last hop (None: no such crumb)."""
    k = len(steps)
    if not (k - 1 in credited and fwd):
        return None, -1, -1
    if rel == _REL[RelType.BIO_LINK]:
        return CrumbShape.BIO_LINK, creator, -1
    if rel == _REL[RelType.TAGGED]:
        return CrumbShape.CODED_HASHTAG, creator, -1
    if rel == _REL[RelType.LINKS_TO]:
        return CrumbShape.URL_LINK, creator, -1
    if rel == _REL[RelType.MENTIONS]:
        return CrumbShape.COMMENT_MENTION, creator, -1
    if rel == _REL[RelType.SHARES]:
        # a relay: someone's mention points at the account whose own post shares cluster content
        if k >= 3 and int(nodes[k - 2]) == creator and int(proj.author[nodes[k - 1]]) == creator:
            e = steps[k - 3]  # nodes: ... -> (mention) -> relay -> (posted) -> its share -> (shares) -> cluster
            by = int(hops.creator[e])
            if int(hops.rel[e]) == _REL[RelType.MENTIONS] and k - 3 in credited and by != creator:
                return CrumbShape.RELAY, by, creator
        return CrumbShape.RESHARE, creator, -1
    if rel == _REL[RelType.REPLY_TO] and k >= 2 and int(hops.rel[steps[-2]]) == _REL[RelType.SHARES]:
        return CrumbShape.RESHARE, creator, -1  # a share of the child item posted into the cluster's group
    return None, -1, -1


#: references a piece of content makes that a viewer can follow onward
POINTER_RELS = (RelType.MENTIONS, RelType.TAGGED, RelType.LINKS_TO, RelType.SHARES)


def pointing_content(proj: Projection) -> np.ndarray:
    """Per vid: the node is content that mentions, tags, links or shares something."""
    out = np.zeros(proj.n_nodes, bool)
    for rel in POINTER_RELS:
        out[proj.src[proj.etype == _REL[rel]]] = True
    return out


def attribute_all(
    proj: Projection, nav: Navigation, walks: list[tuple[list[int], list[int]]], member: np.ndarray
) -> list[Crumb]:
    """attribute() for every (steps, nodes) walk, in order."""
    hops = HopFacts.of(proj, nav)
    points = pointing_content(proj)
    crumbs = [attribute(proj, hops, steps, nodes, member, points) for steps, nodes in walks]
    logger.info("crumbs: %d walks attributed", len(crumbs))
    return crumbs


def step_between(nav: Navigation, rel_of_step: np.ndarray, u: int, v: int, rel: RelType, forward: bool) -> int:
    """The navigation step u -> v walking a stored `rel` in that direction (-1: none)."""
    lo, hi = int(nav.indptr[u]), int(nav.indptr[u + 1])
    ok = (nav.dst[lo:hi] == v) & (rel_of_step[lo:hi] == _REL[rel]) & (nav.forward[lo:hi] == forward)
    hit = np.flatnonzero(ok)
    return lo + int(hit[0]) if hit.size else -1


def relay_items(proj: Projection, owner: np.ndarray, member: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """Per relay account: its (share item, cluster item shared) pairs, for accounts outside every
    cluster whose own posts share content a cluster owns."""
    sh = np.flatnonzero(proj.etype == _REL[RelType.SHARES])
    item, shared = proj.src[sh].astype(np.int64), proj.dst[sh].astype(np.int64)
    by = proj.author[item].astype(np.int64)
    ok = (owner[shared] >= 0) & (by >= 0) & (owner[item] < 0)
    ok[ok] &= member[by[ok]] < 0
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for r, i, s in sorted(zip(by[ok].tolist(), item[ok].tolist(), shared[ok].tolist())):
        out[r].append((i, s))
    return out


def relay_walks(
    proj: Projection, nav: Navigation, owner: np.ndarray, member: np.ndarray, is_source: np.ndarray
) -> list[tuple[int, list[int], list[int]]]:
    """(cluster index, steps, nodes) of every relay crumb, found by its pattern rather than by
    click probability (a relay sits a hop further out than the cheapest walks): child item <-
    a comment or share of it -> (mention) relay -> (posted) its share item -> (shares) cluster item."""
    relays = relay_items(proj, owner, member)
    if not relays:
        return []
    is_relay = np.zeros(proj.n_nodes, bool)
    is_relay[np.fromiter(relays, np.int64)] = True
    men = np.flatnonzero((proj.etype == _REL[RelType.MENTIONS]) & is_relay[proj.dst])
    parents = _anchors(proj, owner, is_source)
    rel_of_step = proj.etype[nav.edge]
    out = []
    for com, r in sorted(zip(proj.src[men].tolist(), proj.dst[men].tolist())):
        layer = int(proj.author[com])
        if com not in parents or layer < 0 or layer == r or member[layer] >= 0:
            continue
        for src, rel in parents[com]:
            for item, shared in relays[r]:
                nodes = [src, com, r, item, shared]
                steps = [
                    step_between(nav, rel_of_step, src, com, rel, False),
                    step_between(nav, rel_of_step, com, r, RelType.MENTIONS, True),
                    step_between(nav, rel_of_step, r, item, RelType.POSTED, True),
                    step_between(nav, rel_of_step, item, shared, RelType.SHARES, True),
                ]
                if min(steps) >= 0 and len(set(nodes)) == len(nodes):
                    out.append((int(owner[shared]), steps, nodes))
    logger.info("crumbs: %d relay walks through %d relay accounts", len(out), len(relays))
    return out


def bio_link_walks(
    proj: Projection, nav: Navigation, owner: np.ndarray, member: np.ndarray, is_source: np.ndarray
) -> list[tuple[int, list[int], list[int]]]:
    """(cluster index, steps, nodes) of every self-pointing bio-link crumb, found by its pattern:
    child item <- a comment on or share of it -> (mentions) its own author -> (bio link) a URL a
    cluster owns. Click probability misses these when the author leads a busy ordinary life (the
    bio link is one of many steps out of the account)."""
    bio = np.flatnonzero((proj.etype == _REL[RelType.BIO_LINK]) & (owner[proj.dst] >= 0))
    links: dict[int, list[int]] = defaultdict(list)
    for a, u in sorted(zip(proj.src[bio].tolist(), proj.dst[bio].tolist())):
        if member[a] < 0:
            links[a].append(u)
    if not links:
        return []
    has_bio = np.zeros(proj.n_nodes, bool)
    has_bio[np.fromiter(links, np.int64)] = True
    men = np.flatnonzero((proj.etype == _REL[RelType.MENTIONS]) & has_bio[proj.dst])
    men = men[proj.author[proj.src[men]] == proj.dst[men]]  # the author mentions itself
    parents = _anchors(proj, owner, is_source)
    rel_of_step = proj.etype[nav.edge]
    out = []
    for com, a in sorted(zip(proj.src[men].tolist(), proj.dst[men].tolist())):
        for src, rel in parents.get(com, []):
            for url in links[a]:
                steps = [
                    step_between(nav, rel_of_step, src, com, rel, False),
                    step_between(nav, rel_of_step, com, a, RelType.MENTIONS, True),
                    step_between(nav, rel_of_step, a, url, RelType.BIO_LINK, True),
                ]
                if min(steps) >= 0:
                    out.append((int(owner[url]), steps, [src, com, a, url]))
    logger.info("crumbs: %d self-pointing bio-link walks", len(out))
    return out


def _anchors(proj: Projection, owner: np.ndarray, is_source: np.ndarray) -> dict[int, list[tuple[int, RelType]]]:
    """Per content item that is a comment on or a share of an unowned child-oriented item: (that
    item, the relationship)."""
    anchor_rels = np.isin(proj.etype, [_REL[RelType.REPLY_TO], _REL[RelType.SHARES]])
    under = np.flatnonzero(anchor_rels & is_source[proj.dst] & (owner[proj.dst] < 0))
    parents: dict[int, list[tuple[int, RelType]]] = defaultdict(list)
    for c, s, t in zip(proj.src[under].tolist(), proj.dst[under].tolist(), proj.etype[under].tolist()):
        parents[c].append((s, RelType.REPLY_TO if t == _REL[RelType.REPLY_TO] else RelType.SHARES))
    return parents

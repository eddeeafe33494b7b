"""Planted breadcrumb trails: each bridge follows a few members of its cluster and lays 3-6
trails of rotating shapes from child-oriented items into the cluster, plus harmless comments.
A shape is one function here (SHAPE_LAYERS); a new shape is a new function and entry. The
adversarial world adds bridges laying every shape (relays included), bridges that also follow
the child's owner and more members, mega hashtags on crumbs, and platform recommendation
trails that no bridge laid."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.model import RelType
from synth.clusters import PlantedCluster, cluster_id
from synth.codes import ACC, COMMENT, CON, POST, TAG, URL
from synth.sampling import after
from synth.tables import Ids
from synth.world import World

logger = logging.getLogger(__name__)

Node = tuple[int, int | str]  # (generator node kind, index or URL)
Hop = tuple[RelType, str]  # (relationship type, "forward" | "backward")


@dataclass(frozen=True)
class Trail:
    shape: str
    source: int  # content index of the child-oriented item it starts at
    bridge: int | None  # None: the platform laid it (a recommendation trail)
    cluster: int
    nodes: list[Node]
    edges: list[Hop]
    relay: int | None = None  # the relay account the bridge's crumb points at (shape `relay`)


@dataclass(frozen=True)
class Bridge:
    account: int
    cluster: int
    trails: list[int]  # trail numbers


@dataclass(frozen=True)
class Crumb:
    """One trail being laid by `bridge` from post number `post` into `cluster`, at time `ts`."""

    world: World
    cluster: PlantedCluster
    bridge: int
    post: int
    ts: np.ndarray  # shape (1,)
    bio_linked: set[int]  # bridges whose bio already links their cluster's invite URL
    relays: np.ndarray | None = None  # relays of the cluster, each with its share items (shape `relay`)
    shares: list[np.ndarray] | None = None  # per relay: rows (its share item, the cluster item shared)

    @property
    def source(self) -> int:
        return int(self.world.posts.item[self.post])

    def comment(self) -> int:
        """The bridge's comment under the source item."""
        return int(self.world.rows.add_content([self.bridge], self.ts, COMMENT, self.source)[0])


def _comment_mention(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's comment -> a member (mentioned)."""
    com = c.comment()
    member = int(c.cluster.members[c.world.rng.trails.integers(0, len(c.cluster.members))])
    c.world.rows.add_links(CON, np.array([com]), ACC, [member], "mention", c.ts)
    return [(CON, c.source), (CON, com), (ACC, member)], [
        (RelType.REPLY_TO, "backward"),
        (RelType.MENTIONS, "forward"),
    ]


def _bio_link(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's comment -> the bridge itself (mentioned) -> invite URL in its bio."""
    com = c.comment()
    c.world.rows.add_links(CON, np.array([com]), ACC, [c.bridge], "mention", c.ts)
    if c.bridge not in c.bio_linked:
        c.world.rows.add_url_link(ACC, c.bridge, c.cluster.invite, int(c.world.posts.ts[c.post]))
        c.bio_linked.add(c.bridge)
    nodes: list[Node] = [(CON, c.source), (CON, com), (ACC, c.bridge), (URL, c.cluster.invite)]
    return nodes, [(RelType.REPLY_TO, "backward"), (RelType.MENTIONS, "forward"), (RelType.BIO_LINK, "forward")]


def _coded_hashtag(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's comment -> a coded hashtag of the cluster."""
    com = c.comment()
    tag = int(c.world.rng.trails.choice(c.cluster.tags))
    c.world.rows.add_links(CON, np.array([com]), TAG, [tag], "hashtag", c.ts)
    return [(CON, c.source), (CON, com), (TAG, tag)], [(RelType.REPLY_TO, "backward"), (RelType.TAGGED, "forward")]


def _share_to_group(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's share item (a post in the cluster's group) -> the group."""
    item = c.world.rows.add_content([c.bridge], c.ts, POST, c.cluster.group)
    c.world.rows.add_links(CON, item, CON, [c.source], "share", c.ts)
    nodes: list[Node] = [(CON, c.source), (CON, int(item[0])), (CON, c.cluster.group)]
    return nodes, [(RelType.SHARES, "backward"), (RelType.REPLY_TO, "forward")]


def _coded_hashtag_share(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's re-share of it (an ordinary post, in no group) -> a coded hashtag."""
    item = c.world.rows.add_content([c.bridge], c.ts, POST)
    c.world.rows.add_links(CON, item, CON, [c.source], "share", c.ts)
    tag = int(c.world.rng.adversary.choice(c.cluster.tags))
    c.world.rows.add_links(CON, item, TAG, [tag], "hashtag", c.ts)
    return [(CON, c.source), (CON, int(item[0])), (TAG, tag)], [
        (RelType.SHARES, "backward"),
        (RelType.TAGGED, "forward"),
    ]


def _relay(c: Crumb) -> tuple[list[Node], list[Hop]]:
    """child item <- bridge's comment -> a relay (mentioned) -> the relay's share item -> cluster item."""
    assert c.relays is not None and c.shares is not None and len(c.relays)
    rng = c.world.rng.adversary
    r = int(rng.integers(0, len(c.relays)))
    pair = c.shares[r][rng.integers(0, len(c.shares[r]))]
    relay, item, shared = int(c.relays[r]), int(pair[0]), int(pair[1])
    com = c.comment()
    c.world.rows.add_links(CON, np.array([com]), ACC, [relay], "mention", c.ts)
    nodes: list[Node] = [(CON, c.source), (CON, com), (ACC, relay), (CON, item), (CON, shared)]
    hops: list[Hop] = [
        (RelType.REPLY_TO, "backward"),
        (RelType.MENTIONS, "forward"),
        (RelType.POSTED, "forward"),
        (RelType.SHARES, "forward"),
    ]
    return nodes, hops


#: shape -> the function laying it. The order of the first four is the rotation of each classic
#: bridge's trails (CLASSIC_SHAPES), so a classic seed lays what it always laid; adversarial
#: bridges rotate over every bridged shape (BRIDGED_SHAPES).
SHAPE_LAYERS: dict[str, Callable[[Crumb], tuple[list[Node], list[Hop]]]] = {
    "comment_mention": _comment_mention,
    "bio_link": _bio_link,
    "coded_hashtag": _coded_hashtag,
    "share_to_group": _share_to_group,
    "coded_hashtag_share": _coded_hashtag_share,
    "relay": _relay,
}
CLASSIC_SHAPES = tuple(SHAPE_LAYERS)[:4]
BRIDGED_SHAPES = tuple(SHAPE_LAYERS)
#: the adversarial world's specialist bridges take their one shape in this turn (hardest first)
SPECIALIST_ORDER = ("relay", "bio_link", "coded_hashtag_share", "comment_mention", "coded_hashtag", "share_to_group")
#: every shape a trail in truth.json can have: the bridged ones and the platform's own
SHAPES = (*BRIDGED_SHAPES, "recommendation")


class _Sources:
    """Child-oriented posts in a random order, each used once (tiny graphs: they repeat)."""

    def __init__(self, world: World, rng: np.random.Generator | None = None, used: set[int] | None = None) -> None:
        child = world.posts.child
        if used:
            fresh = child[~np.isin(world.posts.item[child], np.array(sorted(used), np.int64))]
            child = fresh if len(fresh) else child
        self.order = (rng or world.rng.trails).permutation(child)
        self.next = 0

    def take(self) -> int:
        if self.next >= len(self.order):
            self.next = 0
        self.next += 1
        return int(self.order[self.next - 1])


def lay_trails(world: World, clusters: list[PlantedCluster]) -> tuple[list[Trail], list[Bridge]]:
    """Every bridge of the cast lays its trails into its cluster; returns (trails, bridges)."""
    sources = _Sources(world)
    trails: list[Trail] = []
    bridges: list[Bridge] = []
    bio_linked: set[int] = set()
    for ci, accounts in enumerate(world.cast.bridges):
        for br in accounts:
            numbers = _lay_bridge(world, ci, clusters[ci], int(br), sources, bio_linked, trails)
            bridges.append(Bridge(int(br), ci, numbers))
    logger.debug("trails: %d laid by %d bridges", len(trails), len(bridges))
    return trails, bridges


def _lay_bridge(
    w: World, ci: int, cluster: PlantedCluster, br: int, sources: _Sources, bio_linked: set[int], trails: list[Trail]
) -> list[int]:
    """A bridge follows 1-3 members, lays 3-6 trails of rotating shapes (appended to `trails`;
    returns their numbers) and leaves 3-10 harmless comments under child-oriented items."""
    rng, posts = w.rng.trails, w.posts
    followed = rng.choice(cluster.members, rng.integers(1, 4), replace=False)
    w.rows.add_follows(np.full(len(followed), br), followed)
    n_trails = int(rng.integers(3, 7))
    start = int(rng.integers(0, 4))
    numbers = []
    for t in range(n_trails):
        shape = CLASSIC_SHAPES[(start + t) % len(CLASSIC_SHAPES)]
        post = sources.take()
        crumb = Crumb(w, cluster, br, post, after(rng, posts.ts[[post]], 5.0), bio_linked)
        nodes, edges = SHAPE_LAYERS[shape](crumb)
        numbers.append(len(trails))
        trails.append(Trail(shape, crumb.source, br, ci, nodes, edges))
    noise = rng.choice(posts.child, min(len(posts.child), int(rng.integers(3, 11))), replace=False)
    w.rows.add_content(np.full(len(noise), br), after(rng, posts.ts[noise], 3.0), COMMENT, posts.item[noise])
    return numbers


@dataclass(frozen=True)
class Relays:
    """Each cluster's relay accounts and, per relay, rows (its share item, the cluster item it shares)."""

    accounts: list[np.ndarray]
    shares: list[list[np.ndarray]]


def lay_adversarial_trails(
    world: World, clusters: list[PlantedCluster], relays: Relays, laid: list[Trail]
) -> tuple[list[Trail], list[Bridge]]:
    """2-3 more bridges per cluster (ordinary accounts with an ordinary life), each a specialist:
    it lays 3-6 trails of ONE bridged shape, taken in turn in SPECIALIST_ORDER (so even the
    smallest world has relay and bio-link specialists, whose crumbs carry little click mass);
    numbered after `laid`."""
    rng, cast = world.rng.adversary, world.cast
    sources = _Sources(world, rng, {t.source for t in laid})
    trails: list[Trail] = []
    bridges: list[Bridge] = []
    bio_linked: set[int] = set()
    pool = np.flatnonzero(world.people.adult & world.people.active & ~cast.taken & ~cast.in_cluster)
    counts = rng.integers(2, 4, len(clusters))
    chosen = rng.choice(pool, int(counts.sum()), replace=False)
    cast.claim(chosen)
    turn = 0
    for ci, accounts in enumerate(np.split(chosen, np.cumsum(counts)[:-1])):
        cl = clusters[ci]
        for br in accounts.tolist():
            shape = SPECIALIST_ORDER[turn % len(SPECIALIST_ORDER)]
            turn += 1
            followed = rng.choice(cl.members, min(len(cl.members), int(rng.integers(2, 6))), replace=False)
            world.rows.add_follows(np.full(len(followed), br), followed)
            numbers = []
            for _ in range(int(rng.integers(3, 7))):
                post = sources.take()
                at = after(rng, world.posts.ts[[post]], 5.0)
                crumb = Crumb(world, cl, br, post, at, bio_linked, relays.accounts[ci], relays.shares[ci])
                nodes, edges = SHAPE_LAYERS[shape](crumb)
                numbers.append(len(laid) + len(trails))
                relay = int(nodes[2][1]) if shape == "relay" else None
                trails.append(Trail(shape, crumb.source, br, ci, nodes, edges, relay))
            _harmless(world, rng, br)
            bridges.append(Bridge(br, ci, numbers))
    logger.debug("trails: %d adversarial trails by %d bridges", len(trails), len(bridges))
    return trails, bridges


def _harmless(world: World, rng: np.random.Generator, bridge: int) -> None:
    """3-10 harmless comments of `bridge` under child-oriented items."""
    child = world.posts.child
    noise = rng.choice(child, min(len(child), int(rng.integers(3, 11))), replace=False)
    world.rows.add_content(
        np.full(len(noise), bridge), after(rng, world.posts.ts[noise], 3.0), COMMENT, world.posts.item[noise]
    )


def harden_trails(world: World, trails: list[Trail]) -> None:
    """Adversarial touches on every bridged trail: the bridge also follows the source item's
    owner (70%), and 40% of trail comments carry a mega hashtag too (popular tags on crumbs)."""
    rng, rows = world.rng.adversary, world.rows
    bridged = [t for t in trails if t.bridge is not None]
    owner, ts = rows.column("author"), rows.column("ts")
    for tr in bridged:
        assert tr.bridge is not None
        if rng.random() < 0.7:
            rows.add_follows(np.array([tr.bridge]), np.array([owner[tr.source]]))
        kind, ref = tr.nodes[1]
        if kind == CON and rng.random() < 0.4:
            tag = int(rng.choice(world.tags.mega))
            rows.add_links(CON, np.array([int(ref)]), TAG, [tag], "hashtag", ts[[int(ref)]])


def lay_recommendation_trails(world: World, clusters: list[PlantedCluster], laid: list[Trail]) -> list[Trail]:
    """1-2 platform recommendation trails per cluster: a child-oriented item recommends an
    unlabelled member item (no account laid it: truth says `bridge` null)."""
    rng = world.rng.adversary
    sources = _Sources(world, rng, {t.source for t in laid})
    out = []
    for ci, cl in enumerate(clusters):
        targets = cl.plain if len(cl.plain) else cl.posts
        for _ in range(int(rng.integers(1, 3))):
            post, target = sources.take(), int(rng.choice(targets))
            src = world.posts.item[[post]]
            world.rows.add_links(CON, src, CON, [target], "recommendation", after(rng, world.posts.ts[[post]], 1.0))
            nodes: list[Node] = [(CON, int(src[0])), (CON, target)]
            out.append(Trail("recommendation", int(src[0]), None, ci, nodes, [(RelType.RECOMMENDS, "forward")]))
    return out


def trail_id(number: int) -> str:
    return f"planted-t{number}"


def trail_entries(trails: list[Trail], ids: Ids) -> list[dict[str, Any]]:
    """truth.json `trails`."""
    out = []
    for number, tr in enumerate(trails):
        source = ids.content(tr.source)
        bridge = None if tr.bridge is None else ids.account(tr.bridge)
        relay = None if tr.relay is None else ids.account(tr.relay)
        out.append(
            {
                "trail_id": trail_id(number),
                "shape": tr.shape,
                "source": source,
                "bridge": bridge,
                "relay": relay,
                "cluster": cluster_id(tr.cluster),
                "hops": len(tr.edges),
                # the version-1 names of the same facts (kept for readers of version 1)
                "source_content_id": source,
                "bridge_account_id": bridge,
                "cluster_id": cluster_id(tr.cluster),
                "nodes": [ids.node(kind, ref) for kind, ref in tr.nodes],
                "edges": [rel.value for rel, _ in tr.edges],
                "directions": [d for _, d in tr.edges],
            }
        )
    return out


def bridge_entries(bridges: list[Bridge], ids: Ids) -> list[dict[str, Any]]:
    """truth.json `bridges`."""
    return [
        {
            "account_id": ids.account(b.account),
            "cluster_id": cluster_id(b.cluster),
            "trails": [trail_id(t) for t in b.trails],
        }
        for b in bridges
    ]

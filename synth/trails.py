"""Planted breadcrumb trails: each bridge follows a few members of its cluster and lays 3-6
trails of rotating shapes from child-oriented items into the cluster, plus harmless comments.
A shape is one function here (SHAPE_LAYERS); a new shape is a new function and entry."""

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
    bridge: int
    cluster: int
    nodes: list[Node]
    edges: list[Hop]


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


#: shape -> the function laying it. The order is the rotation of each bridge's trails, so a new
#: shape (appended here) changes which shapes an existing seed lays.
SHAPE_LAYERS: dict[str, Callable[[Crumb], tuple[list[Node], list[Hop]]]] = {
    "comment_mention": _comment_mention,
    "bio_link": _bio_link,
    "coded_hashtag": _coded_hashtag,
    "share_to_group": _share_to_group,
}
SHAPES = tuple(SHAPE_LAYERS)


class _Sources:
    """Child-oriented posts in a random order, each used once (tiny graphs: they repeat)."""

    def __init__(self, world: World) -> None:
        self.order = world.rng.trails.permutation(world.posts.child)
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
        shape = SHAPES[(start + t) % len(SHAPES)]
        post = sources.take()
        crumb = Crumb(w, cluster, br, post, after(rng, posts.ts[[post]], 5.0), bio_linked)
        nodes, edges = SHAPE_LAYERS[shape](crumb)
        numbers.append(len(trails))
        trails.append(Trail(shape, crumb.source, br, ci, nodes, edges))
    noise = rng.choice(posts.child, min(len(posts.child), int(rng.integers(3, 11))), replace=False)
    w.rows.add_content(np.full(len(noise), br), after(rng, posts.ts[noise], 3.0), COMMENT, posts.item[noise])
    return numbers


def trail_id(number: int) -> str:
    return f"planted-t{number}"


def trail_entries(trails: list[Trail], ids: Ids) -> list[dict[str, Any]]:
    """truth.json `trails`."""
    return [
        {
            "trail_id": trail_id(number),
            "shape": tr.shape,
            "source_content_id": ids.content(tr.source),
            "bridge_account_id": ids.account(tr.bridge),
            "cluster_id": cluster_id(tr.cluster),
            "nodes": [ids.node(kind, ref) for kind, ref in tr.nodes],
            "edges": [rel.value for rel, _ in tr.edges],
            "directions": [d for _, d in tr.edges],
        }
        for number, tr in enumerate(trails)
    ]


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

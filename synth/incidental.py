"""News accounts and incidental walks (adversarial world). News accounts (decoys) post popular
items that child-oriented posts are recommended to and that many people comment on, cluster
members among them: a walk child post -> recommended news item <- a member's comment <- the
member reaches a cluster through nobody's crumb. Such walks must rank below planted trails."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.clusters import PlantedCluster, cluster_id
from synth.codes import COMMENT, CON, NO_LABEL, POST
from synth.sampling import Sampler, after, year_ts
from synth.tables import Ids
from synth.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incidental:
    news: np.ndarray  # news accounts (decoys)
    walks: list[tuple[int, int, int, int, int]]  # (child source, news item, member comment, member, cluster)
    member_comments: list[np.ndarray]  # per cluster: the comments members left (cluster content)


def plant_news(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """max(2, N // 100,000) news accounts (active adults, claimed), 20-60 posts each, recommended
    from 3-12 child-oriented posts each and commented on by 10-40 ordinary accounts each.
    Returns (accounts, items, item timestamps)."""
    rng, cast, rows, posts = world.rng.adversary, world.cast, world.rows, world.posts
    pool = np.flatnonzero(world.people.adult & world.people.active & ~cast.taken & ~cast.in_cluster)
    news = np.sort(rng.choice(pool, max(2, world.n // 100_000), replace=False))
    cast.claim(news)
    author = np.repeat(news, rng.integers(20, 61, len(news)))
    ts = year_ts(rng, len(author))
    items = rows.add_content(author, ts, POST)
    k = rng.integers(3, 13, len(items))
    rec_to = np.repeat(items, k)
    rec_from = posts.child[rng.integers(0, len(posts.child), len(rec_to))]
    rows.add_links(CON, posts.item[rec_from], CON, rec_to, "recommendation", after(rng, posts.ts[rec_from], 1.0))
    under = np.repeat(np.arange(len(items)), rng.integers(10, 41, len(items)))
    ordinary = ~cast.taken & ~cast.in_cluster & world.people.active
    who, ok = Sampler(np.where(ordinary, world.weights.activity, 0.0)).sample(rng, len(under))
    rows.add_content(who[ok], after(rng, ts[under[ok]], 2.0), COMMENT, items[under[ok]])
    return news, items, ts


def plant_incidental(world: World, clusters: list[PlantedCluster]) -> Incidental:
    """News accounts, then per cluster 3-8 incidental walks: a member comments under a popular
    unlabelled item (a news item, or an ordinary adult's most commented-on kind of post) and a
    child-oriented post is recommended to that item by the platform."""
    rng, posts, rows = world.rng.adversary, world.posts, world.rows
    news, news_items, news_ts = plant_news(world)
    popular = np.flatnonzero((posts.label == NO_LABEL) & ~world.cast.in_cluster[posts.author])
    popular = popular[np.argsort(-posts.weight[popular], kind="stable")[: max(50, len(popular) // 100)]]
    walks, member_comments = [], []
    for ci, cl in enumerate(clusters):
        n = int(rng.integers(3, 9))
        use_news = rng.random(n) < 0.5
        pick_news = rng.integers(0, len(news_items), n)
        pick_pop = popular[rng.integers(0, len(popular), n)]
        target = np.where(use_news, news_items[pick_news], posts.item[pick_pop])
        t_ts = np.where(use_news, news_ts[pick_news], posts.ts[pick_pop])
        member = cl.members[rng.integers(0, len(cl.members), n)]
        com = rows.add_content(member, after(rng, t_ts, 2.0), COMMENT, target)
        src = posts.child[rng.integers(0, len(posts.child), n)]
        rows.add_links(CON, posts.item[src], CON, target, "recommendation", after(rng, posts.ts[src], 1.0))
        member_comments.append(com)
        walks += [(int(posts.item[s]), int(t), int(c), int(m), ci) for s, t, c, m in zip(src, target, com, member)]
    logger.debug("incidental: %d news accounts, %d walks", len(news), len(walks))
    return Incidental(news, walks, member_comments)


def truth_entries(inc: Incidental, ids: Ids) -> list[dict[str, Any]]:
    """truth.json `incidental_walks`: walks into a cluster that nobody laid (not trails)."""
    return [
        {
            "source_content_id": ids.content(s),
            "via_content_id": ids.content(t),
            "comment_id": ids.content(c),
            "member_account_id": ids.account(m),
            "cluster_id": cluster_id(ci),
            "edges": ["RECOMMENDS", "REPLY_TO", "POSTED"],
            "directions": ["forward", "backward", "backward"],
        }
        for s, t, c, m, ci in inc.walks
    ]

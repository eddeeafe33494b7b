"""Planted grooming-like contact: adults following 15-40 minors who have posts and are not
connected to each other, commenting under a post of each and mentioning them there."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from synth.background import Posts
from synth.codes import ACC, COMMENT, CON, POST
from synth.rows import Rows
from synth.sampling import after, year_ts
from synth.tables import Ids
from synth.world import World

logger = logging.getLogger(__name__)


def contact_comments(rows: Rows, rng: np.random.Generator, adult: int, minors: np.ndarray, posts: Posts) -> None:
    """`adult` comments under the first post of each minor that has one and mentions them there;
    minors without posts are mentioned from a post of `adult` (follows are the caller's)."""
    with_post = minors[posts.has_post[minors]]
    on = posts.first_post[with_post]
    ts = after(rng, posts.ts[on], 2.0)
    com = rows.add_content(np.full(len(on), adult), ts, COMMENT, posts.item[on])
    rows.add_links(CON, com, ACC, with_post, "mention", ts)
    without = minors[~posts.has_post[minors]]
    if len(without):
        ts2 = year_ts(rng, len(without))
        own = rows.add_content(np.full(len(without), adult), ts2, POST)
        rows.add_links(CON, own, ACC, without, "mention", ts2)


def plant_groomers(world: World) -> list[np.ndarray]:
    """Each groomer of the cast claims 15-40 active minors with posts, follows and contacts them;
    no follow between two of its minors survives. Returns each groomer's minors (sorted)."""
    rng, people, cast = world.rng.groomers, world.people, world.cast
    out = []
    for g in cast.groomers:
        pool = np.flatnonzero(people.minor & world.posts.has_post & ~cast.taken & people.active)
        count = min(len(pool), int(rng.integers(15, 41)))
        minors = np.sort(rng.choice(pool, count, replace=False))
        cast.claim(minors)
        out.append(minors)
        world.rows.add_follows(np.full(len(minors), g), minors)
        contact_comments(world.rows, rng, int(g), minors, world.posts)
        world.rows.keep_unlinked(minors)
    return out


def truth_entries(groomers: np.ndarray, minors: list[np.ndarray], ids: Ids) -> list[dict[str, Any]]:
    """truth.json `groomers`."""
    return [{"account_id": ids.account(int(g)), "minors": ids.accounts(m)} for g, m in zip(groomers, minors)]

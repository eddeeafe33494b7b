"""Planted grooming-like contact: adults following 15-40 minors who have posts and are not
connected to each other, commenting under a post of each and mentioning them there; in the
adversarial world also contacts by mixed channels, with and without a tie to a cluster."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.background import Posts
from synth.clusters import cluster_id
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


@dataclass(frozen=True)
class Contacts:
    """The adversarial world's contact accounts: each with its minors, channel counts and tie."""

    accounts: np.ndarray
    minors: list[np.ndarray]
    channels: list[dict[str, int]]  # {"follows", "comments", "mentions"}: minors reached each way
    tied: list[int | None]  # the cluster it is tied to (follows members, one follows back), or None


def plant_contacts(world: World, clusters: list[np.ndarray]) -> Contacts:
    """max(2, N // 25,000) untied and max(1, N // 50,000) cluster-tied contacts (active adults with
    an ordinary life), each reaching 20-60 active minors with posts who do not know each other,
    by a mix of channels per minor: follow (85%), comment under its first post (70%), with a
    mention there (60% of those); every minor is reached at least by a follow or a comment."""
    rng, people, cast, posts, rows = world.rng.adversary, world.people, world.cast, world.posts, world.rows
    n_free, n_tied = max(2, world.n // 25_000), max(1, world.n // 50_000)
    pool = np.flatnonzero(people.adult & people.active & ~cast.taken & ~cast.in_cluster)
    accounts = rng.choice(pool, n_free + n_tied, replace=False)
    cast.claim(accounts)
    minors_out, channels, tied = [], [], []
    for k, adult in enumerate(accounts.tolist()):
        cands = np.flatnonzero(people.minor & posts.has_post & ~cast.taken & people.active)
        minors = np.sort(rng.choice(cands, min(len(cands), int(rng.integers(20, 61))), replace=False))
        cast.claim(minors)
        rows.keep_unlinked(minors)
        follow = rng.random(len(minors)) < 0.85
        comment = rng.random(len(minors)) < 0.7
        comment |= ~follow
        mention = comment & (rng.random(len(minors)) < 0.6)
        rows.add_follows(np.full(int(follow.sum()), adult), minors[follow])
        on = posts.first_post[minors[comment]]
        ts = after(rng, posts.ts[on], 2.0)
        com = rows.add_content(np.full(len(on), adult), ts, COMMENT, posts.item[on])
        men = mention[comment]
        rows.add_links(CON, com[men], ACC, minors[comment][men], "mention", ts[men])
        tie = None
        if k >= n_free:
            tie = int(rng.integers(0, len(clusters)))
            members = clusters[tie]
            followed = rng.choice(members, min(len(members), 2), replace=False)
            rows.add_follows(np.full(len(followed), adult), followed)
            rows.add_follows(followed[:1], np.array([adult]))
        minors_out.append(minors)
        channels.append({"follows": int(follow.sum()), "comments": int(comment.sum()), "mentions": int(mention.sum())})
        tied.append(tie)
    return Contacts(np.asarray(accounts, np.int64), minors_out, channels, tied)


def contact_entries(
    groomers: np.ndarray, groomed: list[np.ndarray], more: Contacts | None, ids: Ids
) -> list[dict[str, Any]]:
    """truth.json `contacts`: every planted contact account; `tied` says whether it also has a tie
    to a cluster (`cluster_id`), `channels` how many of its minors it reached each way."""
    out = [
        {
            "account_id": ids.account(int(g)),
            "minors": ids.accounts(m),
            "tied": False,
            "cluster_id": None,
            "channels": {"follows": len(m), "comments": len(m), "mentions": len(m)},
        }
        for g, m in zip(groomers, groomed)
    ]
    if more is not None:
        out += [
            {
                "account_id": ids.account(int(a)),
                "minors": ids.accounts(m),
                "tied": tie is not None,
                "cluster_id": None if tie is None else cluster_id(tie),
                "channels": ch,
            }
            for a, m, ch, tie in zip(more.accounts, more.minors, more.channels, more.tied)
        ]
    return out

"""Relay accounts (adversarial world): 1-2 ordinary-looking adults per cluster whose own posts
share cluster content. A bridge's comment mentions a relay (shape `relay` in synth/trails.py),
so the crumb points at an account outside the cluster, one hop before it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from synth.clusters import PlantedCluster, cluster_id
from synth.codes import CON, POST
from synth.sampling import after
from synth.tables import Ids
from synth.trails import Relays, Trail, trail_id
from synth.world import World

logger = logging.getLogger(__name__)


def plant_relays(world: World, clusters: list[PlantedCluster]) -> Relays:
    """Each relay (active adult with an ordinary life, claimed) posts 2-5 share items, each a `post`
    with a `share` link to a member's item; it follows 1-3 members and nothing else marks it."""
    rng, cast, rows = world.rng.adversary, world.cast, world.rows
    pool = np.flatnonzero(world.people.adult & world.people.active & ~cast.taken & ~cast.in_cluster)
    counts = rng.integers(1, 3, len(clusters))
    chosen = rng.choice(pool, int(counts.sum()), replace=False)
    cast.claim(chosen)
    ts_all = rows.column("ts")
    accounts, shares = [], []
    for ci, relays in enumerate(np.split(chosen, np.cumsum(counts)[:-1])):
        cl, per_relay = clusters[ci], []
        for relay in relays:
            shared = rng.choice(cl.posts, min(len(cl.posts), int(rng.integers(2, 6))), replace=False)
            ts = after(rng, ts_all[shared], 4.0)
            items = rows.add_content(np.full(len(shared), relay), ts, POST)
            rows.add_links(CON, items, CON, shared, "share", ts)
            followed = rng.choice(cl.members, min(len(cl.members), int(rng.integers(1, 4))), replace=False)
            rows.add_follows(np.full(len(followed), relay), followed)
            per_relay.append(np.stack([items, shared], axis=1))
        accounts.append(np.asarray(relays, np.int64))
        shares.append(per_relay)
    logger.debug("relays: %d for %d clusters", len(chosen), len(clusters))
    return Relays(accounts, shares)


def truth_entries(relays: Relays, trails: list[Trail], ids: Ids) -> list[dict[str, Any]]:
    """truth.json `relays`: each relay, its cluster, the share items and the trails through it."""
    out = []
    for ci, (accounts, shares) in enumerate(zip(relays.accounts, relays.shares)):
        for relay, pairs in zip(accounts.tolist(), shares):
            out.append(
                {
                    "account_id": ids.account(relay),
                    "cluster_id": cluster_id(ci),
                    "shares": sorted(ids.content(int(i)) for i in pairs[:, 0]),
                    "trails": [trail_id(n) for n, t in enumerate(trails) if t.relay == relay],
                }
            )
    return out

"""The background mix (`background_mix` > 0): cluster members also live ordinary platform lives,
`mix` times an ordinary account's, drawn from a stream of their own after everything else is
planted. See "Background mix" in docs/synthetic-data.md."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.clusters import PlantedCluster, cluster_id
from synth.codes import ADULT, COMMENT, CON, GROUP, NO_LABEL, TAG
from synth.sampling import Sampler, after, unique, year_ts
from synth.tables import Ids
from synth.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mix:
    content: list[np.ndarray]  # per cluster: the items its members posted in the mix
    incidental: list[dict[str, Any]]  # {account, cluster, kind, targets}: ordinary accounts' follows into a cluster


@dataclass(frozen=True)
class _Draws:
    """Who the members meet: built once for all clusters."""

    ordinary: np.ndarray  # active accounts without a part
    comment_on: Sampler  # unlabelled posts of ordinary adults ∝ post weight
    rec_from: Sampler  # unlabelled posts of ordinary adults, uniformly
    followers: Sampler  # ordinary accounts ∝ activity


def _draws(w: World) -> _Draws:
    posts, cast = w.posts, w.cast
    ordinary = ~cast.taken & ~cast.in_cluster & w.people.active
    benign = (
        (posts.label == NO_LABEL)
        & (posts.kind != GROUP)
        & ordinary[posts.author]
        & (w.people.age[posts.author] == ADULT)
    )
    return _Draws(
        ordinary,
        Sampler(np.where(benign, posts.weight, 0.0)),
        Sampler(benign.astype(np.float64)),
        Sampler(np.where(ordinary, w.weights.activity, 0.0)),
    )


def mix_members(world: World, clusters: list[PlantedCluster]) -> Mix:
    """Give cluster members background activity in both directions: ordinary posts (vocabulary
    hashtags; mega hashtags come later, as for all content), follows of ordinary accounts,
    comments under unlabelled posts of ordinary adults, a few unsuspecting ordinary followers,
    and platform recommendations of their unlabelled items from ordinary unlabelled posts.

    Nothing here starts at child-oriented content, mentions anyone, or uses a cluster's coded
    hashtags, invite URLs or group, so no trail shape appears without a bridge. The only
    background references into a cluster that an account makes are the ordinary followers'
    follows (recommendations are made by the platform); they are returned as `incidental`."""
    draws = _draws(world)
    content = []
    incidental: dict[tuple[int, int], set[int]] = {}
    for ci, cluster in enumerate(clusters):
        mem, rng, mix = cluster.members, world.rng.mix, world.params.background_mix
        act = rng.lognormal(0.0, 0.9, len(mem)) / math.exp(0.9**2 / 2)  # an ordinary activity, mean 1
        own = _post(world, mem, mix, act)
        _follow_out(world, mem, mix, act)
        com = _comment_out(world, draws, mem, mix, act)
        for a, b in _followed_by(world, draws, mem, mix):
            incidental.setdefault((a, ci), set()).add(b)
        _recommended(world, draws, np.concatenate([cluster.plain, own]), mix)
        content.append(np.concatenate([own, com]))
    entries = [
        {"account": a, "cluster": ci, "kind": "follows_member", "targets": sorted(t)}
        for (a, ci), t in sorted(incidental.items())
    ]
    return Mix(content, entries)


def _post(w: World, mem: np.ndarray, mix: float, act: np.ndarray) -> np.ndarray:
    """Poisson(1.5 · mix · act) unlabelled posts/videos/images/stories, Poisson(1) vocabulary hashtags each."""
    rng, vocab = w.rng.mix, w.tags.vocab
    author = np.repeat(mem, rng.poisson(1.5 * mix * act))
    ts = year_ts(rng, len(author))
    kind = np.searchsorted(np.cumsum([0.45, 0.25, 0.22, 0.05]), rng.random(len(author)), side="right")
    own = w.rows.add_content(author, ts, kind.astype(np.int8))
    t_src = np.repeat(np.arange(len(own)), rng.poisson(1.0, len(own)))
    t_dst, _ = vocab.sample(rng, len(t_src))
    key = unique(t_src * len(vocab.w) + t_dst)
    t_src, t_dst = key // len(vocab.w), key % len(vocab.w)
    w.rows.add_links(CON, own[t_src], TAG, t_dst, "hashtag", ts[t_src])
    return own


def _follow_out(w: World, mem: np.ndarray, mix: float, act: np.ndarray) -> None:
    """Poisson(9 · mix · act) follows of accounts ∝ popularity, 80% in the member's community
    (on top of the hubs and the 3 popular accounts every member follows already)."""
    rng = w.rng.mix
    src = np.repeat(mem, rng.poisson(9.0 * mix * act))
    local = rng.random(len(src)) < 0.8
    dst = np.empty(len(src), np.int64)
    ok = np.empty(len(src), bool)
    dst[local], ok[local] = w.weights.by_community.sample(rng, int(local.sum()), w.people.community[src[local]])
    dst[~local], ok[~local] = w.weights.anywhere.sample(rng, int((~local).sum()))
    w.rows.add_follows(src[ok], dst[ok])


def _comment_out(w: World, draws: _Draws, mem: np.ndarray, mix: float, act: np.ndarray) -> np.ndarray:
    """Poisson(2 · mix · act) comments under unlabelled posts of ordinary adults: references out of the cluster."""
    rng, posts = w.rng.mix, w.posts
    author = np.repeat(mem, rng.poisson(2.0 * mix * act))
    on, ok = draws.comment_on.sample(rng, len(author))
    on, author = on[ok], author[ok]
    return w.rows.add_content(author, after(rng, posts.ts[on], 3.0), COMMENT, posts.item[on])


def _followed_by(w: World, draws: _Draws, mem: np.ndarray, mix: float) -> list[tuple[int, int]]:
    """Poisson(3 · mix) unsuspecting ordinary followers per member: the only background references
    into the cluster. Returns the (follower, member) pairs."""
    rng = w.rng.mix
    dst = np.repeat(mem, rng.poisson(3.0 * mix, len(mem)))
    src, ok = draws.followers.sample(rng, len(dst))
    src, dst = src[ok], dst[ok]
    w.rows.add_follows(src, dst)
    return list(zip(src.tolist(), dst.tolist()))


def _recommended(w: World, draws: _Draws, plain: np.ndarray, mix: float) -> None:
    """Each unlabelled member item is recommended Poisson(2 · mix) times from ordinary unlabelled posts."""
    rng, posts = w.rng.mix, w.posts
    dst = np.repeat(plain, rng.poisson(2.0 * mix, len(plain)))
    src, ok = draws.rec_from.sample(rng, len(dst))
    src, dst = src[ok], dst[ok]
    w.rows.add_links(CON, posts.item[src], CON, dst, "recommendation", after(rng, posts.ts[src], 1.0))


def truth_entries(mix: Mix, ids: Ids) -> list[dict[str, Any]]:
    """truth.json `incidental`."""
    return [
        {
            "account_id": ids.account(d["account"]),
            "kind": d["kind"],
            "cluster_id": cluster_id(d["cluster"]),
            "targets": ids.accounts(np.array(d["targets"])),
        }
        for d in mix.incidental
    ]

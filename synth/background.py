"""The ordinary platform: follows, groups, posts, comments (with replies and mentions), shares
and recommendations among ordinary accounts. Cluster members take no part (their activity and
popularity are zero) unless the background mix (synth/mix.py) gives them a life afterwards."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.codes import ACC, CHILD, CLASSIFIER, COMMENT, CON, GROUP, HUMAN, MINOR, NO_LABEL, POST, UNKNOWN, YEAR_START
from synth.params import SynthParams
from synth.population import Population
from synth.roles import Cast
from synth.rows import Rows
from synth.sampling import Sampler, after, label_conf, unique, year_ts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Background activity and popularity per account: members' are zero, hubs are the most popular."""

    activity: np.ndarray
    popularity: np.ndarray
    by_community: Sampler  # accounts ∝ popularity within a community
    anywhere: Sampler  # accounts ∝ popularity


@dataclass(frozen=True)
class Groups:
    """The background's `group` items and, per community, which of them sit there."""

    item: np.ndarray  # content index of each group
    order: np.ndarray  # groups sorted by community
    start: np.ndarray  # per community: first position in `order`
    count: np.ndarray  # per community: how many groups

    def draw(self, rng: np.random.Generator, communities: np.ndarray) -> np.ndarray:
        """A uniformly drawn group of each community (each must have one): content indices."""
        pick = self.start[communities] + (rng.random(len(communities)) * self.count[communities]).astype(np.int64)
        return np.asarray(self.item[self.order[pick]])


@dataclass(frozen=True)
class Posts:
    """The background's non-comment items by post number (not groups, not share items)."""

    item: np.ndarray  # content index
    author: np.ndarray  # sorted
    ts: np.ndarray
    kind: np.ndarray
    label: np.ndarray
    weight: np.ndarray  # popularity of the author ** 0.8: how much the item draws comments
    child: np.ndarray  # post numbers of child-oriented items (trails, contacts and decoys start there)
    has_post: np.ndarray  # per account
    first_post: np.ndarray  # per account: its first post number, or -1

    def __len__(self) -> int:
        return len(self.item)


@dataclass(frozen=True)
class Comments:
    item: np.ndarray  # content index
    ts: np.ndarray


def weigh_accounts(people: Population, cast: Cast) -> Weights:
    """Cluster members take no part in the background: nothing outside reaches them except
    planted trails. Hubs get the highest popularity."""
    activity = np.where(cast.in_cluster, 0.0, people.activity)
    popularity = np.where(cast.in_cluster, 0.0, people.popularity)
    popularity[cast.hubs] = popularity.max()
    by_community = Sampler(popularity, people.community, people.n_communities)
    return Weights(activity, popularity, by_community, Sampler(popularity))


def follow_background(
    params: SynthParams, people: Population, w: Weights, rng: np.random.Generator, rows: Rows
) -> None:
    """Out-degree ∝ activity; targets ∝ popularity, mostly inside the follower's community."""
    deg = rng.poisson(params.mean_follows * w.activity / w.activity.mean())
    f_src = np.repeat(np.arange(people.n, dtype=np.int64), deg)
    local = rng.random(len(f_src)) < params.local_follow_share
    f_dst = np.empty(len(f_src), np.int64)
    ok = np.empty(len(f_src), bool)
    f_dst[local], ok[local] = w.by_community.sample(rng, int(local.sum()), people.community[f_src[local]])
    f_dst[~local], ok[~local] = w.anywhere.sample(rng, int((~local).sum()))
    rows.add_follows(f_src[ok], f_dst[ok])


def make_groups(people: Population, w: Weights, rng: np.random.Generator, rows: Rows) -> Groups:
    """About one group per 300 accounts, owned ∝ activity, created before the year of activity."""
    n_groups = max(3, people.n // 300)
    author, ok = Sampler(w.activity).sample(rng, n_groups)
    author = author[ok]
    created = people.created[author]
    ts = created + (rng.random(len(author)) * (YEAR_START - created)).astype(np.int64)
    items = rows.add_content(author, ts, GROUP)
    comm = people.community[author]
    order = np.argsort(comm, kind="stable")
    start = np.searchsorted(comm[order], np.arange(people.n_communities), side="left")
    count = np.searchsorted(comm[order], np.arange(people.n_communities), side="right") - start
    return Groups(items, order, start, count)


def post_background(
    params: SynthParams,
    people: Population,
    cast: Cast,
    w: Weights,
    groups: Groups,
    rng: np.random.Generator,
    rows: Rows,
) -> Posts:
    """Posts, videos, images, stories and lives ∝ activity; some child-oriented (mostly minors' and
    family vloggers'), 8% inside a group of the author's community."""
    author = np.repeat(
        np.arange(people.n, dtype=np.int64), rng.poisson(params.mean_posts * w.activity / w.activity.mean())
    )
    m = len(author)
    ts = year_ts(rng, m)
    kind = np.searchsorted(np.cumsum([0.45, 0.25, 0.22, 0.05]), rng.random(m), side="right").astype(np.int8)
    age = people.age[author]
    child_prob = np.select([age == MINOR, cast.family[author], age == UNKNOWN], [0.35, 0.6, 0.05], 0.01)
    label = np.where(rng.random(m) < child_prob, CHILD, NO_LABEL).astype(np.int8)
    human = rng.random(m) < 0.3
    source = np.where(label == CHILD, np.where(human, HUMAN, CLASSIFIER), -1).astype(np.int8)
    conf = np.where(label == CHILD, np.where(human, 1.0, label_conf(rng, m, 0.55, 1.0)), np.nan)
    in_group = rng.random(m) < 0.08
    comm = people.community[author]
    has_group = in_group & (groups.count[comm] > 0)
    parent = np.full(m, -1, np.int64)
    parent[has_group] = groups.draw(rng, comm[has_group])
    items = rows.add_content(author, ts, kind, parent, label, source, conf)
    has_post = np.zeros(people.n, bool)
    has_post[author] = True
    first_post = np.full(people.n, -1, np.int64)  # `author` is sorted: the author's first post
    first_post[has_post] = np.searchsorted(author, np.flatnonzero(has_post), side="left")
    child = np.flatnonzero((label == CHILD) & (kind != GROUP))
    weight = w.popularity[author] ** 0.8
    return Posts(items, author, ts, kind, label, weight, child, has_post, first_post)


def comment_background(
    params: SynthParams, people: Population, w: Weights, posts: Posts, rng: np.random.Generator, rows: Rows
) -> Comments:
    """Comments on items ∝ author popularity^0.8 by accounts ∝ activity (60% of the item author's
    community); 15% answer an earlier comment (with a `reply` link), 20% mention someone."""
    n_comments = int(round(params.mean_comments * people.n))
    target, _ = Sampler(posts.weight).sample(rng, n_comments)  # post numbers
    tgt_author = posts.author[target]
    local = rng.random(n_comments) < 0.6
    commenter = np.empty(n_comments, np.int64)
    ok = np.empty(n_comments, bool)
    in_comm = Sampler(w.activity, people.community, people.n_communities)
    commenter[local], ok[local] = in_comm.sample(rng, int(local.sum()), people.community[tgt_author[local]])
    commenter[~local], ok[~local] = Sampler(w.activity).sample(rng, int((~local).sum()))
    target, commenter = target[ok], commenter[ok]
    ts = after(rng, posts.ts[target], 3.0)
    order = np.lexsort((ts, target))
    target, commenter, ts = target[order], commenter[order], ts[order]
    k = len(target)
    first = np.searchsorted(target, target, side="left")
    position = np.arange(k) - first
    threaded = (rng.random(k) < 0.15) & (position > 0)
    parent_local = np.where(threaded, first + (rng.random(k) * np.maximum(position, 1)).astype(np.int64), -1)
    parent = np.where(threaded, rows.n_content + parent_local, posts.item[target])
    items = rows.add_content(commenter, ts, COMMENT, parent)
    rows.add_links(CON, items[threaded], ACC, commenter[parent_local[threaded]], "reply", ts[threaded])
    _mention(people, w, tgt_author, commenter, Comments(items, ts), rng, rows)
    return Comments(items, ts)


def _mention(
    people: Population,
    w: Weights,
    tgt_author: np.ndarray,
    commenter: np.ndarray,
    comments: Comments,
    rng: np.random.Generator,
    rows: Rows,
) -> None:
    """20% of comments mention an item author (half) or a popular account of the commenter's
    community. (`tgt_author` is in draw order, not in the comments' order: kept as generated.)"""
    k = len(comments.item)
    mention = rng.random(k) < 0.2
    to_author = rng.random(k) < 0.5
    m_dst = np.where(to_author, tgt_author, 0)
    other = mention & ~to_author
    m_other, m_ok = w.by_community.sample(rng, int(other.sum()), people.community[commenter[other]])
    m_dst[other] = np.where(m_ok, m_other, -1)
    keep = mention & (m_dst >= 0) & (m_dst != commenter)
    rows.add_links(CON, comments.item[keep], ACC, m_dst[keep], "mention", comments.ts[keep])


def share_background(
    params: SynthParams,
    people: Population,
    w: Weights,
    posts: Posts,
    groups: Groups,
    rng: np.random.Generator,
    rows: Rows,
) -> None:
    """Share items (a `post` with a `share` link to the item), a third of them into a group."""
    n_sh = int(round(params.mean_shares * people.n))
    sharer, ok = Sampler(w.activity).sample(rng, n_sh)
    shared, _ = Sampler(_shareable(posts)).sample(rng, n_sh)
    sharer, shared = sharer[ok], shared[ok]
    ts = after(rng, posts.ts[shared], 4.0)
    comm = people.community[sharer]
    into = (rng.random(len(sharer)) < 0.3) & (groups.count[comm] > 0)
    parent = np.full(len(sharer), -1, np.int64)
    parent[into] = groups.draw(rng, comm[into])
    items = rows.add_content(sharer, ts, POST, parent)
    rows.add_links(CON, items, CON, posts.item[shared], "share", ts)


def recommend_background(
    params: SynthParams, people: Population, posts: Posts, rng: np.random.Generator, rows: Rows
) -> None:
    """Platform recommendations item -> item in the same community, ∝ popularity, no repeats."""
    m = len(posts)
    n_rec = int(round(params.mean_recommendations * people.n))
    src = rng.integers(0, m, n_rec)
    comm = people.community[posts.author]
    dst, ok = Sampler(_shareable(posts), comm, people.n_communities).sample(rng, n_rec, comm[src])
    keep = ok & (dst != src)
    key = unique(src[keep] * m + dst[keep])
    src, dst = key // m, key % m
    rows.add_links(CON, posts.item[src], CON, posts.item[dst], "recommendation", after(rng, posts.ts[src], 1.0))


def _shareable(posts: Posts) -> np.ndarray:
    return np.where(posts.kind == GROUP, 0.0, posts.weight)

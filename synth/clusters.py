"""Planted abusive clusters: 10-40 adults following each other densely, posting labelled (and
some unlabelled) items into their group, under coded hashtags and with an invite URL, and
commenting on and mentioning each other."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.codes import (
    ABUSIVE,
    ACC,
    CLASSIFIER,
    COMMENT,
    CON,
    GROUP,
    HASHLIST,
    IMAGE,
    NO_LABEL,
    POST,
    TAG,
    VIDEO,
    YEAR_START,
)
from synth.sampling import after, label_conf, year_ts
from synth.strings import strings_from_matrix, words
from synth.tables import Ids
from synth.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlantedCluster:
    members: np.ndarray  # sorted
    tags: np.ndarray  # its coded hashtags (indices), sorted
    invite: str  # its invite URL
    group: int  # content index of its group
    content: np.ndarray  # every item its members posted: the group, their items, their comments
    plain: np.ndarray  # members' unlabelled items (the background mix recommends them)
    posts: np.ndarray  # members' items (not the group, not comments): what relays share


@dataclass(frozen=True)
class _Items:
    item: np.ndarray
    author: np.ndarray
    ts: np.ndarray
    abusive: np.ndarray


def cluster_id(ci: int) -> str:
    return f"planted-c{ci}"


def plant_clusters(world: World) -> list[PlantedCluster]:
    """One cluster per member list of the cast, all drawn from the clusters' stream."""
    return [_plant(world, ci, members) for ci, members in enumerate(world.cast.clusters)]


def _plant(w: World, ci: int, mem: np.ndarray) -> PlantedCluster:
    rng = w.rng.clusters
    _follow(w, mem)
    tags = rng.choice(w.tags.coded(ci), rng.integers(2, 5), replace=False)
    code = strings_from_matrix(words(rng, 1, 6))[0].as_py()
    invite = f"https://{w.domains.invite(ci)}/join/{code}"
    owner = mem[rng.integers(0, len(mem))]
    created = w.people.created[owner]
    group = w.rows.add_content([owner], [created + int(rng.random() * (YEAR_START - created))], GROUP)
    items = _post(w, mem, int(group[0]), tags)
    _link_invite(w, mem, items, invite)
    comments = _comment(w, mem, items)
    _mention(w, mem, items)
    content = np.concatenate([group, items.item, comments])
    return PlantedCluster(mem, np.sort(tags), invite, int(group[0]), content, items.item[~items.abusive], items.item)


def _follow(w: World, mem: np.ndarray) -> None:
    """Members follow each other with probability 0.5 per ordered pair, and 3 popular accounts each."""
    rng, s = w.rng.clusters, len(mem)
    pairs = rng.random((s, s)) < 0.5
    np.fill_diagonal(pairs, False)
    a, b = np.nonzero(pairs)
    w.rows.add_follows(mem[a], mem[b])
    outside, ok = w.weights.anywhere.sample(rng, 3 * s)
    w.rows.add_follows(np.repeat(mem, 3)[ok], outside[ok])


def _post(w: World, mem: np.ndarray, group: int, tags: np.ndarray) -> _Items:
    """2-8 items per member, 30% in the group; 75-90% of members are labelled (85% of their items
    `abusive`); 70% of items carry a coded hashtag (a fifth of those a second)."""
    rng, s = w.rng.clusters, len(mem)
    per = rng.integers(2, 9, s)
    author = np.repeat(mem, per)
    ni = len(author)
    unlabelled_share = rng.uniform(0.1, 0.25)
    labelled_member = rng.random(s) >= unlabelled_share
    labelled_member[rng.integers(0, s)] = True
    abusive = np.repeat(labelled_member, per) & (rng.random(ni) < 0.85)
    hashlist = rng.random(ni) < 0.5
    source = np.where(abusive, np.where(hashlist, HASHLIST, CLASSIFIER), -1)
    conf = np.where(abusive, np.where(hashlist, label_conf(rng, ni, 0.9, 1.0), label_conf(rng, ni, 0.6, 1.0)), np.nan)
    kind = rng.choice(np.array([POST, VIDEO, IMAGE]), ni, p=[0.3, 0.3, 0.4])
    parent = np.where(rng.random(ni) < 0.3, group, -1)
    ts = year_ts(rng, ni)
    items = w.rows.add_content(author, ts, kind, parent, np.where(abusive, ABUSIVE, NO_LABEL), source, conf)
    tagged = rng.random(ni) < 0.7
    w.rows.add_links(CON, items[tagged], TAG, rng.choice(tags, int(tagged.sum())), "hashtag", ts[tagged])
    second = tagged & (rng.random(ni) < 0.2)
    if second.any() and len(tags) > 1:
        w.rows.add_links(CON, items[second], TAG, np.full(int(second.sum()), tags[-1]), "hashtag", ts[second])
    return _Items(items, author, ts, abusive)


def _link_invite(w: World, mem: np.ndarray, items: _Items, invite: str) -> None:
    """30% of items link the invite URL; 40% of members (at least one) have it as bio link."""
    rng = w.rng.clusters
    for j in np.flatnonzero(rng.random(len(items.item)) < 0.3):
        w.rows.add_url_link(CON, int(items.item[j]), invite, int(items.ts[j]))
    bio = mem[(rng.random(len(mem)) < 0.4)]
    if len(bio) == 0:
        bio = mem[:1]
    for account in bio:
        w.rows.add_url_link(ACC, int(account), invite, int(year_ts(rng, 1)[0]))


def _comment(w: World, mem: np.ndarray, items: _Items) -> np.ndarray:
    """Members comment on each other's items (Poisson 1.5 per item), half mentioning a member."""
    rng, s = w.rng.clusters, len(mem)
    under = np.repeat(np.arange(len(items.item)), rng.poisson(1.5, len(items.item)))
    author = mem[rng.integers(0, s, len(under))]
    ts = after(rng, items.ts[under], 2.0)
    comments = w.rows.add_content(author, ts, COMMENT, items.item[under])
    men = rng.random(len(under)) < 0.5
    dst = mem[rng.integers(0, s, len(under))]
    men &= dst != author
    w.rows.add_links(CON, comments[men], ACC, dst[men], "mention", ts[men])
    return comments


def _mention(w: World, mem: np.ndarray, items: _Items) -> None:
    """20% of items mention another member."""
    rng, ni = w.rng.clusters, len(items.item)
    men = rng.random(ni) < 0.2
    dst = mem[rng.integers(0, len(mem), ni)]
    men &= dst != items.author
    w.rows.add_links(CON, items.item[men], ACC, dst[men], "mention", items.ts[men])


def truth_entries(
    clusters: list[PlantedCluster], ids: Ids, more_content: list[np.ndarray], unlabelled: list[np.ndarray]
) -> list[dict[str, Any]]:
    """truth.json `clusters`; `more_content[ci]` is what members posted besides the cluster's own
    items (background mix, incidental comments); `unlabelled[ci]` the members with no abusive label."""
    return [
        {
            "cluster_id": cluster_id(ci),
            "accounts": ids.accounts(c.members),
            "content": ids.contents(np.concatenate([c.content, more_content[ci]])),
            "urls": [c.invite],
            "hashtags": sorted(ids.hashtag(int(t)) for t in c.tags),
            "unlabelled_members": ids.accounts(unlabelled[ci]),
        }
        for ci, c in enumerate(clusters)
    ]


def unlabelled_members(world: World, clusters: list[PlantedCluster]) -> list[np.ndarray]:
    """Per cluster: the members none of whose items carries an `abusive` label (once all is planted)."""
    label, author = world.rows.column("label"), world.rows.column("author")
    out = []
    for cl in clusters:
        labelled = author[cl.posts[label[cl.posts] == ABUSIVE]]
        out.append(cl.members[~np.isin(cl.members, labelled)])
    return out

"""Decoys, things a naive detector falls for (none of them abusive): hubs followed by a large
share of all accounts, mega hashtags on everything, benign commenters on many child-oriented
items, teachers with a class of minors, and ordinary adults with one false-positive label."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.codes import ABUSIVE, ACC, CLASSIFIER, COMMENT, CON, GROUP, NO_LABEL, POST, TAG
from synth.contacts import contact_comments
from synth.rows import Rows
from synth.sampling import after, year_ts
from synth.tables import Ids
from synth.vocabulary import MEGA_HASHTAGS
from synth.world import World

logger = logging.getLogger(__name__)

DECOY_KINDS = (
    *("hub", "mega_hashtag", "benign_commenter", "teacher", "false_positive_label"),
    *("news", "coach", "relative"),  # the adversarial world's (synth/incidental.py, plant_coaches, plant_relatives)
)


@dataclass(frozen=True)
class FalsePositives:
    accounts: np.ndarray  # sorted
    content: list[int]  # the one item of each labelled abusive (content index)


def follow_hubs(rows: Rows, rng: np.random.Generator, n: int, hubs: np.ndarray) -> None:
    """Each hub is followed by 20-45% of all accounts (cluster members included)."""
    shares = rng.uniform(0.2, 0.45, len(hubs))
    for hub, share in zip(hubs, shares):
        followers = np.flatnonzero(rng.random(n) < share)
        rows.add_follows(followers, np.full(len(followers), hub))


def plant_teachers(world: World) -> list[np.ndarray]:
    """Each teacher of the cast claims a class of 20-30 active minors (from one community when
    one has enough) who all follow each other and the teacher (and back); the teacher posts
    3-6 items mentioning 3-8 pupils each and contacts each pupil like a groomer. Returns the classes."""
    rng, people, cast = world.rng.decoys, world.people, world.cast
    classes = []
    for t in cast.teachers:
        pool = np.flatnonzero(people.minor & ~cast.taken & people.active)
        counts = np.bincount(people.community[pool], minlength=people.n_communities)
        size = int(rng.integers(20, 31))
        big = np.flatnonzero(counts >= size)
        if len(big):
            pool = pool[people.community[pool] == int(rng.choice(big))]
        pupils = np.sort(rng.choice(pool, min(size, len(pool)), replace=False))
        cast.claim(pupils)
        classes.append(pupils)
        _teach(world, int(t), pupils)
    return classes


def _teach(w: World, teacher: int, pupils: np.ndarray, rng: np.random.Generator | None = None) -> None:
    rng, rows = rng or w.rng.decoys, w.rows
    a, b = np.nonzero(~np.eye(len(pupils), dtype=bool))
    rows.add_follows(pupils[a], pupils[b])
    rows.add_follows(np.full(len(pupils), teacher), pupils)
    rows.add_follows(pupils, np.full(len(pupils), teacher))
    n_posts = int(rng.integers(3, 7))
    posts = rows.add_content(np.full(n_posts, teacher), year_ts(rng, n_posts), POST)
    for post in posts:
        who = rng.choice(pupils, int(rng.integers(3, 9)), replace=False)
        rows.add_links(CON, np.full(len(who), post), ACC, who, "mention", year_ts(rng, len(who)))
    contact_comments(rows, rng, teacher, pupils, w.posts)


@dataclass(frozen=True)
class Households:
    """The adversarial world's coaches (with their teams) and relatives (with a family's minors)."""

    coaches: np.ndarray
    teams: list[np.ndarray]
    relatives: np.ndarray
    families: list[np.ndarray]


def plant_households(world: World) -> Households:
    """max(1, N // 100,000) coaches, each with a team of 12-20 minors of one community who all
    follow each other (the teacher pattern); max(3, N // 20,000) relatives, each tied to 2-4
    sibling minors (siblings and relative follow each other; the relative comments under each
    sibling's first post, mentioning it)."""
    rng, people, cast = world.rng.adversary, world.people, world.cast
    pool = np.flatnonzero(people.adult & people.active & ~cast.taken & ~cast.in_cluster)
    coaches = np.sort(rng.choice(pool, max(1, world.n // 100_000), replace=False))
    cast.claim(coaches)
    teams = []
    for coach in coaches.tolist():
        minors = np.flatnonzero(people.minor & ~cast.taken & people.active)
        counts = np.bincount(people.community[minors], minlength=people.n_communities)
        size = int(rng.integers(12, 21))
        big = np.flatnonzero(counts >= size)
        if len(big):
            minors = minors[people.community[minors] == int(rng.choice(big))]
        team = np.sort(rng.choice(minors, min(size, len(minors)), replace=False))
        cast.claim(team)
        teams.append(team)
        _teach(world, coach, team, rng)
    pool = np.flatnonzero(people.adult & people.active & ~cast.taken & ~cast.in_cluster)
    relatives = np.sort(rng.choice(pool, max(3, world.n // 20_000), replace=False))
    cast.claim(relatives)
    families = [_relate(world, rel, rng) for rel in relatives.tolist()]
    return Households(coaches, teams, relatives, families)


def _relate(w: World, relative: int, rng: np.random.Generator) -> np.ndarray:
    people, cast = w.people, w.cast
    minors = np.flatnonzero(
        people.minor & ~cast.taken & people.active & (people.community == people.community[relative])
    )
    if len(minors) < 2:
        minors = np.flatnonzero(people.minor & ~cast.taken & people.active)
    kids = np.sort(rng.choice(minors, min(len(minors), int(rng.integers(2, 5))), replace=False))
    cast.claim(kids)
    a, b = np.nonzero(~np.eye(len(kids), dtype=bool))
    w.rows.add_follows(kids[a], kids[b])
    w.rows.add_follows(np.full(len(kids), relative), kids)
    w.rows.add_follows(kids, np.full(len(kids), relative))
    contact_comments(w.rows, rng, relative, kids, w.posts)
    return kids


def plant_benign_commenters(world: World) -> None:
    """Each benign commenter comments under 30-100 child-oriented items, mentioning the author half the time."""
    rng, posts = world.rng.decoys, world.posts
    for account in world.cast.benign:
        count = min(len(posts.child), int(rng.integers(30, 101)))
        on = rng.choice(posts.child, count, replace=False)
        ts = after(rng, posts.ts[on], 2.0)
        comments = world.rows.add_content(np.full(count, account), ts, COMMENT, posts.item[on])
        men = rng.random(count) < 0.5
        world.rows.add_links(CON, comments[men], ACC, posts.author[on[men]], "mention", ts[men])


def plant_false_positive_labels(world: World) -> FalsePositives:
    """Ordinary adults with posts (not family vloggers) get exactly one item labelled `abusive`
    by the classifier at low confidence (0.6-0.75): a "cluster of one"."""
    rng, people, cast, posts = world.rng.decoys, world.people, world.cast, world.posts
    n_fp = max(1, world.n // world.params.accounts_per_false_positive)
    pool = np.flatnonzero(people.adult & ~cast.taken & ~cast.family & posts.has_post)
    accounts = np.sort(rng.choice(pool, n_fp, replace=False))
    cast.claim(accounts)
    content = []
    for a in accounts:
        own = posts.author == a
        cands = posts.item[np.flatnonzero(own & (posts.label == NO_LABEL) & (posts.kind != GROUP))]
        if len(cands) == 0:
            cands = posts.item[np.flatnonzero(own)]
        item = int(rng.choice(cands))
        world.rows.relabel(item, ABUSIVE, CLASSIFIER, float(np.round(rng.uniform(0.6, 0.75), 3)))
        content.append(item)
    return FalsePositives(accounts, content)


def tag_mega_hashtags(world: World) -> None:
    """The mega hashtags land on their share of every non-comment item, planted ones included
    (so this runs after everything else has posted)."""
    kind, ts = world.rows.column("kind"), world.rows.column("ts")
    carriers = np.flatnonzero((kind != COMMENT) & (kind != GROUP))
    for (_, share), tag in zip(MEGA_HASHTAGS, world.tags.mega):
        on = carriers[world.rng.hashtags.random(len(carriers)) < share]
        world.rows.add_links(CON, on, TAG, np.full(len(on), tag), "hashtag", ts[on])


def _decoy(
    kind: str, *, account_id: str | None = None, hashtag: str | None = None, content_id: str | None = None
) -> dict[str, Any]:
    return {"decoy": kind, "account_id": account_id, "hashtag": hashtag, "content_id": content_id}


def truth_entries(
    world: World,
    classes: list[np.ndarray],
    false_positives: FalsePositives,
    ids: Ids,
    households: Households | None = None,
    news: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """truth.json `decoys`: hubs, mega hashtags, benign commenters, teachers, false-positive labels
    (and in the adversarial world news accounts, coaches and relatives, after those)."""
    cast = world.cast
    out = [_decoy("hub", account_id=ids.account(int(h))) for h in cast.hubs]
    out += [_decoy("mega_hashtag", hashtag=tag) for tag, _ in MEGA_HASHTAGS]
    out += [_decoy("benign_commenter", account_id=ids.account(int(b))) for b in cast.benign]
    out += [
        _decoy("teacher", account_id=ids.account(int(t))) | {"minors": ids.accounts(pupils)}
        for t, pupils in zip(cast.teachers, classes)
    ]
    out += [
        _decoy("false_positive_label", account_id=ids.account(int(a)), content_id=ids.content(c))
        for a, c in zip(false_positives.accounts, false_positives.content)
    ]
    out += [_decoy("news", account_id=ids.account(int(a))) for a in (news if news is not None else [])]
    if households is not None:
        out += [
            _decoy("coach", account_id=ids.account(int(c))) | {"minors": ids.accounts(team)}
            for c, team in zip(households.coaches, households.teams)
        ]
        out += [
            _decoy("relative", account_id=ids.account(int(r))) | {"minors": ids.accounts(kids)}
            for r, kids in zip(households.relatives, households.families)
        ]
    return out

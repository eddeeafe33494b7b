"""Grooming-like contact: contact comments on hand-made posts, groomers planted alone, and in a
snapshot groomers follow and mention minors who are not connected to each other."""

from __future__ import annotations

import numpy as np

from synth.background import Posts
from synth.codes import ACC, COMMENT, CON, POST, YEAR_START
from synth.contacts import contact_comments, plant_groomers
from synth.rows import Rows
from tests.unit.synth.support import row_edges


def test_groomers_contact_unconnected_minors(rows, truth, edges):
    for g in truth["groomers"]:
        kids = set(g["minors"])
        followed = {e[4] for e in edges if e[2] == "FOLLOWS" and e[1] == g["account_id"]}
        assert kids <= followed
        assert not [e for e in edges if e[2] == "FOLLOWS" and e[1] in kids and e[4] in kids]
        mentioned = {e[4] for e in edges if e[2] == "MENTIONS" and e[3] == "account" and e[4] in kids}
        assert mentioned == kids


def _posts(author: list[int], n_accounts: int) -> Posts:
    """Hand-made background posts (content index = post number) by `author` (sorted)."""
    a = np.array(author)
    has_post = np.zeros(n_accounts, bool)
    has_post[a] = True
    first = np.full(n_accounts, -1)
    first[has_post] = np.searchsorted(a, np.flatnonzero(has_post))
    ts = np.full(len(a), YEAR_START)
    none = np.zeros(len(a), np.int8)
    return Posts(np.arange(len(a)), a, ts, none, none, np.ones(len(a)), np.arange(0), has_post, first)


def test_contact_comments_under_a_minors_first_post_or_from_the_adults_own_post():
    rows = Rows()
    posts = _posts([3, 3, 5], n_accounts=8)
    rows.add_content(posts.author, posts.ts, POST)
    contact_comments(rows, np.random.default_rng(0), 0, np.array([3, 4, 5]), posts)
    author, parent, kind = (rows.column(c) for c in ("author", "parent", "kind"))
    assert author[3:].tolist() == [0, 0, 0]
    assert kind[3:].tolist() == [COMMENT, COMMENT, POST] and parent[3:].tolist() == [0, 2, -1]
    assert row_edges(rows) >= {
        (CON, 3, "MENTIONS", ACC, 3),
        (CON, 4, "MENTIONS", ACC, 5),
        (CON, 5, "MENTIONS", ACC, 4),  # 4 has no post: mentioned from the adult's own post
    }
    assert (rows.column("ts")[3:5] > YEAR_START).all()


def test_groomers_alone_claim_unconnected_minors_with_posts(world):
    taken = world.cast.taken.copy()
    groomed = plant_groomers(world)
    edges = row_edges(world.rows)
    follows = set(zip(*(np.concatenate(x).tolist() for x in zip(*world.rows.follows))))
    assert len(groomed) == len(world.cast.groomers)
    assert not set(groomed[0].tolist()) & set(groomed[1].tolist())
    for g, minors in zip(world.cast.groomers.tolist(), groomed):
        assert 15 <= len(minors) <= 40
        assert world.people.minor[minors].all() and world.posts.has_post[minors].all()
        assert not taken[minors].any() and world.cast.taken[minors].all()
        assert {(g, m) for m in minors.tolist()} <= follows
        mentioned = {e[4] for e in edges if e[2] == "MENTIONS" and e[3] == ACC and e[4] in set(minors.tolist())}
        assert mentioned == set(minors.tolist())
        assert any(np.array_equal(u, minors) for u in world.rows.unlinked)

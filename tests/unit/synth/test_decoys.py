"""Decoys, each planted alone (hubs, teachers, false-positive labels, mega hashtags), and in a snapshot
what a naive detector falls for, none of it abusive."""

from __future__ import annotations

from collections import Counter

import numpy as np

from synth.codes import ABUSIVE, CLASSIFIER, COMMENT, GROUP
from synth.decoys import follow_hubs, plant_false_positive_labels, plant_teachers, tag_mega_hashtags
from synth.rows import Rows
from synth.vocabulary import MEGA_HASHTAGS
from tests.unit.synth.support import N


def test_decoys_look_like_what_a_naive_detector_falls_for(rows, truth, edges, author):
    by = {}
    for d in truth["decoys"]:
        by.setdefault(d["decoy"], []).append(d)
    assert set(by) == {"hub", "mega_hashtag", "benign_commenter", "teacher", "false_positive_label"}
    members = {a for cl in truth["clusters"] for a in cl["accounts"]}
    followers = Counter(rows["follows"]["followee_id"])
    f_pairs = set(zip(rows["follows"]["follower_id"], rows["follows"]["followee_id"]))
    for d in by["hub"]:
        assert followers[d["account_id"]] > 0.15 * N
        assert any((m, d["account_id"]) in f_pairs for m in members)
    c = rows["content"]
    labels = dict(zip(c["content_id"], c["label"]))
    non_comment = sum(k not in ("comment", "group") for k in c["kind"])
    lk = rows["links"]
    for d in by["mega_hashtag"]:
        carriers = [
            s for s, dk, di in zip(lk["src_id"], lk["dst_kind"], lk["dst_id"]) if dk == "hashtag" and di == d["hashtag"]
        ]
        assert len(carriers) > 0.1 * non_comment
        assert any(labels[s] == "abusive" for s in carriers)
    owned = {a for cl in truth["clusters"] for a in cl["accounts"] + cl["content"] + cl["urls"] + cl["hashtags"]}
    for d in by["benign_commenter"]:
        comments = [
            cid
            for cid, a, p in zip(c["content_id"], c["account_id"], c["parent_id"])
            if a == d["account_id"] and p is not None and labels[p] == "child_oriented"
        ]
        assert len(comments) >= 30
        mine = {cid for cid, a in zip(c["content_id"], c["account_id"]) if a == d["account_id"]} | {d["account_id"]}
        assert not [e for e in edges if e[1] in mine and e[4] in owned]
    for d in by["teacher"]:
        cls = d["minors"]
        assert len(cls) >= 20
        assert all((a, b) in f_pairs for a in cls for b in cls if a != b)
        assert all((d["account_id"], m) in f_pairs and (m, d["account_id"]) in f_pairs for m in cls)
    for d in by["false_positive_label"]:
        assert labels[d["content_id"]] == "abusive" and author[d["content_id"]] == d["account_id"]
        assert sum(labels[x] == "abusive" for x, a in author.items() if a == d["account_id"]) == 1
        assert d["account_id"] not in members


def test_hubs_are_followed_by_their_share_of_all_accounts():
    rows = Rows()
    follow_hubs(rows, np.random.default_rng(0), 10_000, np.array([7, 9]))
    for (followers, hub), h in zip(rows.follows, (7, 9)):
        assert set(hub.tolist()) == {h}
        assert 0.2 * 10_000 * 0.95 <= len(followers) <= 0.45 * 10_000 * 1.05


def test_teachers_alone_have_a_connected_class_of_minors(world):
    classes = plant_teachers(world)
    follows = set(zip(*(np.concatenate(x).tolist() for x in zip(*world.rows.follows))))
    for t, pupils in zip(world.cast.teachers.tolist(), classes):
        p = pupils.tolist()
        assert 20 <= len(p) <= 30 and world.people.minor[pupils].all() and world.cast.taken[pupils].all()
        assert all((a, b) in follows for a in p for b in p if a != b)
        assert all((t, m) in follows and (m, t) in follows for m in p)


def test_false_positive_labels_alone_relabel_one_ordinary_item_each(world):
    before = world.rows.column("label")
    fp = plant_false_positive_labels(world)
    label, source, conf, author = (world.rows.column(c) for c in ("label", "source", "conf", "author"))
    assert np.flatnonzero(label != before).tolist() == sorted(fp.content)
    assert (label[fp.content] == ABUSIVE).all() and (source[fp.content] == CLASSIFIER).all()
    assert ((conf[fp.content] >= 0.6) & (conf[fp.content] <= 0.75)).all()
    assert author[fp.content].tolist() == fp.accounts.tolist()
    assert world.cast.taken[fp.accounts].all() and not world.cast.family[fp.accounts].any()


def test_mega_hashtags_land_on_their_share_of_every_non_comment_item(world):
    kind = world.rows.column("kind")
    carriers = set(np.flatnonzero((kind != COMMENT) & (kind != GROUP)).tolist())
    n_blocks = len(world.rows.links)
    tag_mega_hashtags(world)
    added = world.rows.links[n_blocks:]
    assert [int(b.dst[0]) for b in added] == world.tags.mega.tolist()
    for block, (_, share) in zip(added, MEGA_HASHTAGS):
        on = set(block.src.tolist())
        assert on <= carriers and abs(len(on) / len(carriers) - share) < 0.03

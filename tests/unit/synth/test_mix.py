"""The background mix: planted alone it gives members unlabelled lives and lists every follow into
them; in a snapshot truth stays exact and no trail appears without a bridge."""

from __future__ import annotations

import pytest

from graph.errors import ConfigError
from synth import SynthParams
from synth.clusters import plant_clusters
from synth.codes import ACC, NO_LABEL
from synth.generate import build_world
from synth.mix import mix_members
from tests.unit.synth.support import MIX, N, owned_by


def test_background_mix_off_by_default_and_same_planted_structures(snap, truth, mix):
    """The default truth has no mix keys; the mix keeps every planted role, trail and decoy."""
    t = mix["truth"]
    assert "background_mix" not in truth and "incidental" not in truth
    assert t["background_mix"] == MIX
    for key in ("bridges", "groomers"):
        assert [x["account_id"] for x in t[key]] == [x["account_id"] for x in truth[key]]
    assert [cl["accounts"] for cl in t["clusters"]] == [cl["accounts"] for cl in truth["clusters"]]
    assert [(tr["shape"], tr["bridge_account_id"]) for tr in t["trails"]] == [
        (tr["shape"], tr["bridge_account_id"]) for tr in truth["trails"]
    ]
    decoys = [[(d["decoy"], d["account_id"]) for d in x["decoys"]] for x in (t, truth)]
    assert decoys[0] == decoys[1]
    with pytest.raises(ConfigError, match="background-mix"):
        SynthParams(accounts=N, background_mix=-0.5)


def test_background_mix_truth_is_exact_and_trails_are_real_walks(mix):
    t, edges, author, label = mix["truth"], mix["edges"], mix["author"], mix["label"]
    owned = owned_by(t)
    members = {a for cl in t["clusters"] for a in cl["accounts"]}
    posted = {}
    for cid, aid in author.items():
        posted.setdefault(aid, set()).add(cid)
    for cl in t["clusters"]:
        # every item a member posted, and only those, is the cluster's content
        assert set(cl["content"]) == set().union(*(posted.get(a, set()) for a in cl["accounts"]))
    for tr in t["trails"]:
        nodes = tr["nodes"]
        assert label[tr["source_content_id"]] == "child_oriented"
        for a, b, rel, direction in zip(nodes, nodes[1:], tr["edges"], tr["directions"]):
            src, dst = (a, b) if direction == "forward" else (b, a)
            assert (src["kind"], src["id"], rel, dst["kind"], dst["id"]) in edges, (tr["trail_id"], a, b)
        assert owned[(nodes[-1]["kind"], nodes[-1]["id"])] == tr["cluster_id"]
        assert all((n["kind"], n["id"]) not in owned for n in nodes[:-1])
        assert author[nodes[1]["id"]] == tr["bridge_account_id"] and tr["bridge_account_id"] not in members


def test_background_mix_gives_members_background_edges_both_ways(mix):
    t, edges, author, label = mix["truth"], mix["edges"], mix["author"], mix["label"]
    rows = mix["rows"]
    members = {a for cl in t["clusters"] for a in cl["accounts"]}
    special = (
        members | {b["account_id"] for b in t["bridges"]} | {d["account_id"] for d in t["decoys"] if d["account_id"]}
    )
    parent = dict(zip(rows["content"]["content_id"], rows["content"]["parent_id"]))
    # followed by unsuspecting ordinary accounts, exactly those truth lists as incidental
    in_follows = {(e[1], e[4]) for e in edges if e[2] == "FOLLOWS" and e[4] in members and e[1] not in special}
    listed = {(d["account_id"], m) for d in t["incidental"] for m in d["targets"]}
    assert in_follows and in_follows == listed
    assert {d["kind"] for d in t["incidental"]} == {"follows_member"}
    # follow ordinary accounts (not only hubs and each other)
    out_follows = {e[4] for e in edges if e[2] == "FOLLOWS" and e[1] in members and e[4] not in special}
    assert len(out_follows) > 2 * len(members)
    # comment under unlabelled posts of ordinary accounts
    com = [c for c, a in author.items() if a in members and parent.get(c) and author[parent[c]] not in special]
    assert com and all(label[parent[c]] == "none" for c in com)
    # recommended by the platform from ordinary unlabelled content
    recs = [e for e in edges if e[2] == "RECOMMENDS" and author[e[4]] in members and author[e[1]] not in members]
    assert recs and all(label[e[1]] == "none" and label[e[4]] == "none" for e in recs)
    # member content carries mega hashtags
    assert any(e[2] == "TAGGED" and e[4] == "fyp" and author[e[1]] in members for e in edges)


def test_background_mix_lays_no_trail_without_a_bridge(mix):
    """Every reference into a cluster from outside is a bridge's, an incidental follower's listed
    follow, or a platform recommendation from unlabelled content — and nothing leaving a
    child-oriented item reaches a cluster except through a bridge's item."""
    t, edges, author, label = mix["truth"], mix["edges"], mix["author"], mix["label"]
    owned = owned_by(t)
    bridges = {(b["account_id"], b["cluster_id"]) for b in t["bridges"]}
    listed = {(d["account_id"], m) for d in t["incidental"] for m in d["targets"]}
    for sk, s, rel, dk, d in edges:
        cl = owned.get((dk, d))
        if cl is None or owned.get((sk, s)) == cl:
            continue
        responsible = s if sk == "account" else author[s]
        if rel == "RECOMMENDS":
            assert label[s] == "none", (s, d)
        elif (responsible, cl) not in bridges:
            assert rel == "FOLLOWS" and (s, d) in listed, (sk, s, rel, dk, d)
    bios = {}
    for _sk, s, rel, _dk, d in edges:
        if rel == "BIO_LINK":
            bios.setdefault(s, set()).add(d)
    first_hop = {
        (s, d) for _, s, rel, _, d in edges if rel in ("REPLY_TO", "SHARES") and label.get(d) == "child_oriented"
    }
    bridge_ids = {b for b, _ in bridges}
    refs_of = {}
    for _, s, rel, dk, d in edges:
        if rel != "POSTED":
            refs_of.setdefault(s, []).append((rel, dk, d))
    assert first_hop
    crumbs = set()
    for item, child in first_hop:  # a comment or share of a child-oriented item, and its references
        refs = [r for r in refs_of.get(item, []) if r[2] != child]
        if any(
            (r[1], r[2]) in owned or (r[0] == "MENTIONS" and any(("url", u) in owned for u in bios.get(r[2], ())))
            for r in refs
        ):
            crumbs.add(item)
    # exactly the planted trails' first items lead on into a cluster, and they are the bridges'
    assert crumbs == {tr["nodes"][1]["id"] for tr in t["trails"]}
    assert {author[i] for i in crumbs} <= bridge_ids


def test_mix_alone_gives_members_unlabelled_lives_and_lists_every_follow_into_them():
    world = build_world(SynthParams(accounts=2000, seed=5, background_mix=1.0))
    clusters = plant_clusters(world)
    n_follows, n_links = len(world.rows.follows), len(world.rows.links)
    mixed = mix_members(world, clusters)
    author, label = world.rows.column("author"), world.rows.column("label")
    members = world.cast.in_cluster
    for c, more in zip(clusters, mixed.content):
        assert len(more) and set(author[more].tolist()) <= set(c.members.tolist())
        assert set(label[more].tolist()) == {NO_LABEL}
    into = {
        (a, b)
        for src, dst in world.rows.follows[n_follows:]
        for a, b in zip(src.tolist(), dst.tolist())
        if members[b] and not members[a]
    }
    assert into and into == {(d["account"], t) for d in mixed.incidental for t in d["targets"]}
    recs = [b for b in world.rows.links[n_links:] if b.kind == "recommendation"]
    assert recs and all((label[b.src] == NO_LABEL).all() and members[author[b.dst]].all() for b in recs)
    assert not any(b.dst_kind == ACC for b in world.rows.links[n_links:])  # no mentions

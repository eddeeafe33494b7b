"""Planted clusters: planted alone, each is its members' own (items, group, coded hashtags, invite URL);
in a snapshot, nothing but members and their bridges reference a cluster."""

from __future__ import annotations

import numpy as np

from synth.clusters import plant_clusters
from synth.codes import ABUSIVE, ACC, GROUP, NO_LABEL


def test_only_members_and_their_bridges_reference_a_cluster(rows, truth, edges, author):
    """No background edge enters a cluster: every path into one goes through a planted bridge."""
    for cl in truth["clusters"]:
        owned = (
            {("account", a) for a in cl["accounts"]}
            | {("content", c) for c in cl["content"]}
            | {("url", u) for u in cl["urls"]}
            | {("hashtag", h) for h in cl["hashtags"]}
        )
        allowed = set(cl["accounts"]) | {
            b["account_id"] for b in truth["bridges"] if b["cluster_id"] == cl["cluster_id"]
        }
        into = [e for e in edges if (e[3], e[4]) in owned and (e[0], e[1]) not in owned]
        assert into
        for sk, s, rel, _, _ in into:
            responsible = s if sk == "account" else author[s]
            assert responsible in allowed, (sk, s, rel)


def test_clusters_planted_alone(world):
    """Every item a cluster adds is its members'; the group, coded hashtags and invite URL are its own."""
    before = world.rows.n_content
    planted = plant_clusters(world)
    author, kind, label = (world.rows.column(c) for c in ("author", "kind", "label"))
    assert sorted(np.concatenate([c.content for c in planted]).tolist()) == list(range(before, world.rows.n_content))
    fs = np.concatenate([f for f, _ in world.rows.follows])
    fd = np.concatenate([d for _, d in world.rows.follows])
    for ci, c in enumerate(planted):
        mem = set(c.members.tolist())
        assert set(author[c.content].tolist()) <= mem
        assert kind[c.group] == GROUP and c.group in c.content
        assert set(label[c.content].tolist()) <= {ABUSIVE, NO_LABEL}
        assert (label[c.content] == ABUSIVE).sum() > len(c.content) / 4
        assert set(label[c.plain].tolist()) == {NO_LABEL}
        assert 2 <= len(c.tags) <= 4 and set(c.tags.tolist()) <= set(world.tags.coded(ci).tolist())
        assert c.invite.startswith(f"https://{world.domains.invite(ci)}/join/")
        inside = np.isin(fs, c.members) & np.isin(fd, c.members)
        s = len(c.members)
        assert 0.3 < inside.sum() / (s * (s - 1)) < 0.7  # members follow each other, half the pairs
        invites = [u for u in world.rows.url_links if u.url == c.invite]
        assert any(u.src_kind == ACC for u in invites)  # at least one member's bio
        assert all(u.src in mem if u.src_kind == ACC else author[u.src] in mem for u in invites)

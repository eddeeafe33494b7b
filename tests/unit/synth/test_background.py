"""The ordinary platform: built alone it leaves cluster members out and answers come after what
they answer; in a snapshot, realistic age bands, timestamps, degrees, kinds, links and labels."""

from __future__ import annotations

from collections import Counter

import numpy as np

from synth.codes import ACC, CHILD, COMMENT, GROUP
from tests.unit.synth.support import N


def test_realism_minors_timestamps_and_heavy_tailed_in_degree(rows):
    bands = Counter(rows["accounts"]["age_band"])
    assert 0.12 <= bands["minor"] / N <= 0.18
    assert set(bands) == {"minor", "adult", "unknown"}
    ts = rows["content"]["created_at"] + rows["follows"]["created_at"] + rows["links"]["created_at"]
    assert all(len(t) == 20 and t.endswith("Z") for t in ts)
    activity = rows["content"]["created_at"] + rows["follows"]["created_at"]
    assert min(activity) >= "2019-01-01" and max(activity) < "2026-01-01"
    assert sum(t.startswith("2025") for t in activity) / len(activity) > 0.95
    indeg = np.array(sorted(Counter(rows["follows"]["followee_id"]).values()))
    assert indeg[-1] > 20 * np.median(indeg)  # hubs and popular accounts: a heavy tail
    kinds = Counter(rows["content"]["kind"])
    assert {"post", "video", "image", "comment", "group"} <= set(kinds)
    assert Counter(rows["links"]["kind"]).keys() >= {
        "mention",
        "url",
        "bio",
        "hashtag",
        "share",
        "reply",
        "recommendation",
    }
    labels = Counter(zip(rows["content"]["label"], rows["content"]["label_source"]))
    assert labels[("child_oriented", "classifier:v3")] > 0 and labels[("child_oriented", "human_review")] > 0


def _follows(world):
    return np.concatenate([f for f, _ in world.rows.follows]), np.concatenate([d for _, d in world.rows.follows])


def test_cluster_members_take_no_part_in_the_background(world):
    """Built alone, the background never reaches a member: no follow, mention, reply or bio of
    theirs except following the hubs, and no item by them."""
    members, hubs = world.cast.in_cluster, world.cast.hubs
    assert not members[world.rows.column("author")].any()
    fs, fd = _follows(world)
    assert not members[fd].any()
    assert set(fd[members[fs]].tolist()) <= set(hubs.tolist())
    for block in world.rows.links:
        if block.dst_kind == ACC:
            assert not members[np.asarray(block.dst)].any(), block.kind
        if block.src_kind == ACC:
            assert not members[block.src].any(), block.kind
    assert (world.weights.activity[members] == 0).all()
    assert (world.weights.popularity[hubs] == world.weights.popularity.max()).all()


def test_answers_come_after_what_they_answer_and_group_posts_sit_in_groups(world):
    ts, parent, kind = (world.rows.column(c) for c in ("ts", "parent", "kind"))
    comment = kind == COMMENT
    assert comment.any() and (parent[comment] >= 0).all()
    assert (ts[comment] >= ts[parent[comment]]).all()
    in_group = ~comment & (parent >= 0)
    assert in_group.any() and (kind[parent[in_group]] == GROUP).all()
    posts = world.posts
    assert (kind[posts.item] != GROUP).all() and (np.diff(posts.author) >= 0).all()
    assert (posts.label[posts.child] == CHILD).all()
    first = posts.first_post[posts.has_post]
    assert (posts.author[first] == np.flatnonzero(posts.has_post)).all()

"""The cluster membership test (vouching) on hand-built graphs: members who lead ordinary lives,
a busy ordinary account, a bridge, false-positive labels and a popular account."""

from __future__ import annotations

from typing import Any

from detectors.base import DetectorContext
from detectors.clusters import ClusterDetector
from tests.unit.test_detectors import ToyGraph

MEMBERS = [f"m{i}" for i in range(8)]


def world(background: int = 2000, ordinary_life: int = 30) -> ToyGraph:
    """A background of `background` adults following their 8 successors in a ring; 8 members
    following each other (6 labelled, 2 not), each followed by `ordinary_life` background
    accounts and following as many (an ordinary life four times the cluster's own ties)."""
    g = ToyGraph()
    bg = [f"bg{i:04d}" for i in range(background)]
    for i, a in enumerate(bg):
        g.account(a)
        for k in range(1, 9):
            g.follow(a, bg[(i + k) % background])
    for i, m in enumerate(MEMBERS):
        g.account(m)
        for other in MEMBERS:
            if other != m:
                g.follow(m, other)
        if i < 6:
            g.post(f"ab{i}", m, label="abusive", conf=0.9)
        for j in range(ordinary_life):
            g.follow(bg[(97 * i + 13 * j) % background], m)
            g.follow(m, bg[(53 * i + 11 * j + 5) % background])
    return g


def clusters(g: ToyGraph, **params: Any) -> list[set[str]]:
    det = ClusterDetector()
    out = det.run(g.projection(), det.Params(**params), DetectorContext(navigation=None, outputs={}))  # type: ignore[arg-type]
    return [set(c.accounts) for c in out.sections.clusters]


def test_members_with_busy_ordinary_lives_stay_members() -> None:
    # each member gets 30 ordinary followers and 7 from the cluster: the 1.x share rule lost them all
    assert clusters(world()) == [set(MEMBERS)]


def test_busy_ordinary_account_tied_both_ways_to_a_few_members_is_not_a_member() -> None:
    g = world()
    g.account("busy")
    for i in range(150):  # a popular account: 150 background followers
        g.follow(f"bg{i:04d}", "busy")
    for m in ("m0", "m1"):  # two members follow it, it follows two members back
        g.follow(m, "busy")
    for m in ("m2", "m3"):
        g.follow("busy", m)
    assert clusters(g) == [set(MEMBERS)]
    # the same counts from an account nobody else ties to are more than popularity explains
    g2 = world()
    g2.account("quiet")
    for m in ("m0", "m1", "m2"):
        g2.follow(m, "quiet")
        g2.follow("quiet", m)
    assert clusters(g2) == [set(MEMBERS) | {"quiet"}]


def test_bridge_popular_account_and_followers_are_not_members() -> None:
    g = world()
    g.account("bridge")
    g.account("star")
    g.account("fan")
    for m in MEMBERS:
        g.follow("bridge", m)  # follows and mentions every member, nobody ties back
        g.post(f"c-{m}", "bridge", kind="comment", parent=f"ab{MEMBERS.index(m)}" if m < "m6" else None)
        g.follow(m, "star")  # every member follows a popular account that does not follow back
    g.follow("fan", "m0")
    g.follow("fan", "m1")
    assert clusters(g) == [set(MEMBERS)]


def test_false_positive_labels_are_no_cluster_and_do_not_join() -> None:
    g = world()
    g.account("fp")  # one abusive item, followed by one member, follows another
    g.post("fp1", "fp", label="abusive", conf=0.6)
    g.follow("m0", "fp")
    g.follow("fp", "m1")
    g.account("fp2")  # a second, isolated false label with a friend of its own
    g.account("friend")
    g.post("fp2a", "fp2", label="abusive", conf=0.65)
    g.follow("fp2", "friend")
    g.follow("friend", "fp2")
    assert clusters(g) == [set(MEMBERS)]


def test_two_clusters_held_apart_and_grouped_by_their_tokens() -> None:
    g = world()
    second = [f"n{i}" for i in range(5)]
    for i, a in enumerate(second):
        g.account(a)
        g.post(f"nb{i}", a, label="abusive", conf=0.8)
        g.link("content", f"nb{i}", "TAGGED", "hashtag", "zzcode")
        for b in second:
            if a != b:
                g.follow(a, b)
    g.follow("n0", "m0")  # one tie between the clusters
    assert sorted(clusters(g), key=len) == [set(second), set(MEMBERS)]


def test_no_labels_no_clusters() -> None:
    g = world()
    g.content.clear()
    assert clusters(g) == []


def test_cluster_with_few_labels_reaches_members_tied_only_to_unlabelled_ones() -> None:
    g = world(ordinary_life=10)
    g.content = [c for c in g.content if c[0] in ("ab0", "ab1")]  # only m0 and m1 labelled
    far = {"m5", "m6", "m7"}  # tied to the unlabelled members only: the region's second round
    g.edges = [e for e in g.edges if not ({e[1], e[4]} & {"m0", "m1"} and {e[1], e[4]} & far)]
    assert clusters(g) == [set(MEMBERS)]
    assert clusters(g, region_rounds=1) == [set(MEMBERS) - far]

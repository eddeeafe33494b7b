"""Grooming-like contact on hand-built graphs: a contact with no cluster tie reaching minors by
mixed channels, a teacher with a connected class, a relative, a fan, a commenter under
child-oriented posts, and a contact tied to a cluster ranked above an untied one."""

from __future__ import annotations

from typing import Any

import pytest

from detectors.runner import resolve_params, run_projection
from tests.unit.test_detectors import ToyGraph


def kids(g: ToyGraph, prefix: str, n: int, *, connected: bool = False) -> list[str]:
    """`n` minors, each with a post; `connected`: they all follow each other (a class, a team)."""
    out = [f"{prefix}{i}" for i in range(n)]
    for k in out:
        g.account(k, "minor")
        g.post(f"{k}-post", k, label="child_oriented")
    if connected:
        for a in out:
            for b in out:
                if a != b:
                    g.follow(a, b)
    return out


def address(g: ToyGraph, adult: str, kid: str, *, comment: bool = True, mention: bool = False) -> None:
    """`adult` comments under the kid's post (optionally mentioning it there), or mentions it from a post."""
    cid = f"{adult}-on-{kid}"
    if comment:
        g.post(cid, adult, kind="comment", parent=f"{kid}-post")
        if mention:
            g.link("content", cid, "MENTIONS", "account", kid)
    else:
        g.post(cid, adult)
        g.link("content", cid, "MENTIONS", "account", kid)


def run(g: ToyGraph) -> dict[str, Any]:
    sections, _ = run_projection(g.projection(), resolve_params(None))
    return sections.model_dump(mode="json")


def flagged(g: ToyGraph) -> dict[str, dict[str, Any]]:
    return {r["account_id"]: r for r in run(g)["flagged_accounts"] if r["role"] == "suspicious_contact"}


def test_untied_contact_by_mixed_channels_is_flagged_and_explained() -> None:
    g = ToyGraph()
    g.account("contact")
    minors = kids(g, "k", 20)
    for i, k in enumerate(minors):
        if i % 5 != 4:
            g.follow("contact", k)  # 16 followed
        if i % 3 != 2 or i % 5 == 4:
            address(g, "contact", k, mention=i % 2 == 0)  # comments under 15 of them, some mentioned
    g.follow("k0", "k1")  # two of them know each other
    row = flagged(g)["contact"]
    assert row["minors"] == 20
    assert row["followed_minors"] == 16
    assert row["addressed_minors"] == 15
    assert row["minor_groups"] == 19
    assert row["largest_connected_share"] == 0.1
    assert row["engaged_share"] == 0.55  # 11 of the 20 both followed and addressed
    assert row["cluster_reach"] == 0.0
    assert row["score"] == pytest.approx(19 * 0.55)


def test_teacher_coach_and_relative_are_not_flagged() -> None:
    g = ToyGraph()
    for adult in ("teacher", "coach", "relative"):
        g.account(adult)
    for adult, prefix, n in (("teacher", "s", 25), ("coach", "t", 14), ("relative", "r", 4)):
        for k in kids(g, prefix, n, connected=True):
            g.follow(adult, k)
            g.follow(k, adult)
            address(g, adult, k, mention=True)
    assert flagged(g) == {}


def test_fan_and_commenter_on_child_posts_are_not_flagged() -> None:
    g = ToyGraph()
    g.account("fan")
    g.account("commenter")
    for k in kids(g, "f", 15):
        g.follow("fan", k)  # follows, never addresses
    for i, k in enumerate(kids(g, "c", 40)):
        address(g, "commenter", k, mention=i % 2 == 0)  # comments under their posts, never follows
    assert flagged(g) == {}


def test_cluster_tie_ranks_a_contact_higher_but_is_not_needed() -> None:
    g = ToyGraph()
    background = [f"bg{i:02d}" for i in range(60)]
    for i, a in enumerate(background):
        g.account(a)
        g.follow(a, background[(i + 1) % 60])
    members = [f"m{i}" for i in range(6)]
    for i, m in enumerate(members):
        g.account(m)
        g.post(f"ab{i}", m, label="abusive", conf=0.9)
        for o in members:
            if o != m:
                g.follow(m, o)
    for adult, prefix in (("tied", "x"), ("untied", "y")):
        g.account(adult)
        for k in kids(g, prefix, 12):
            g.follow(adult, k)
            address(g, adult, k, mention=True)
    g.follow("tied", "m0")
    g.follow("tied", "m1")
    assert [set(c["accounts"]) for c in run(g)["clusters"]] == [set(members)]
    rows = flagged(g)
    assert set(rows) == {"tied", "untied"}
    assert rows["tied"]["cluster_reach"] > 0 == rows["untied"]["cluster_reach"]
    assert rows["tied"]["score"] > rows["untied"]["score"] == 12.0

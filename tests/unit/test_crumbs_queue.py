"""Crumb attribution and the ranked queue on a small hand-built graph (synthetic ids): every crumb
shape is named with its layer, relays get their role, a platform recommendation names no bridge,
and an incidental walk through a member's ordinary life ranks below every laid trail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_detectors import ToyGraph, run_all, toy_graph


def crumb_graph() -> ToyGraph:
    """toy_graph() plus a re-share into the cluster's group, a relay, a platform recommendation,
        an incidental walk (a child post recommended to a news item a member commented on) and a plain
        comment by the bio-link bridge under another child post, and a bridge with two ways in from one
    child post (one trail)."""
    g = toy_graph()
    for a in ("b_share", "b_relay", "relay1", "news"):
        g.account(a)
    g.account("kid3", "minor")
    g.account("kid4", "minor")
    g.post("cp3", "kid3", kind="video", label="child_oriented")
    g.post("cp4", "kid4", kind="video", label="child_oriented")
    # reshare: b_share shares cp1 into a member's group post (m4: m1 already has outside ties)
    g.post("group", "m4")
    g.post("sh1", "b_share", parent="group")
    g.link("content", "sh1", "SHARES", "content", "cp1")
    # relay: b_relay's comment under cp2 mentions relay1, whose own post shares cluster content
    g.post("cr1", "b_relay", kind="comment", parent="cp2")
    g.link("content", "cr1", "MENTIONS", "account", "relay1")
    g.post("rp1", "relay1")
    g.link("content", "rp1", "SHARES", "content", "ab2")
    # the platform recommends an unlabelled member item from cp3
    g.link("content", "cp3", "RECOMMENDS", "content", "m5post")
    # incidental: cp4 is recommended to a news item; a member commented on it once
    g.post("news1", "news")
    g.link("content", "cp4", "RECOMMENDS", "content", "news1")
    g.post("mc1", "m2", kind="comment", parent="news1")
    # the bio-link bridge also leaves a plain comment (no mention, no tag) under cp5
    g.post("cp5", "kid3", kind="video", label="child_oriented")
    g.post("plain", "b_bio", kind="comment", parent="cp5")
    # near-duplicates: b_dup mentions m5 under cp6 and also follows cp6's owner and m5
    g.account("kid5", "minor")
    g.account("b_dup")
    g.post("cp6", "kid5", kind="video", label="child_oriented")
    g.post("cd1", "b_dup", kind="comment", parent="cp6")
    g.link("content", "cd1", "MENTIONS", "account", "m5")
    g.follow("b_dup", "kid5")
    g.follow("b_dup", "m5")
    # a relay no crumb points at yet: its own posts share two cluster items
    g.account("relay2")
    g.post("rp2", "relay2")
    g.link("content", "rp2", "SHARES", "content", "ab1")
    g.post("rp3", "relay2")
    g.link("content", "rp3", "SHARES", "content", "m5post")
    # decoy: a child post is recommended to an ordinary account's video that carries the coded tag
    # (the tag is reached through the platform's recommendation, not through a crumb at the child item)
    g.account("tagger")
    g.account("kid6", "minor")
    g.post("cp7", "kid6", kind="video", label="child_oriented")
    g.post("tvid", "tagger", kind="video")
    g.link("content", "cp7", "RECOMMENDS", "content", "tvid")
    g.link("content", "tvid", "TAGGED", "hashtag", "qzcode")
    return g


def by_crumb(res: dict[str, Any], source: str, shape: str) -> list[dict[str, Any]]:
    return [pw for pw in res["pathways"] if pw["source"]["id"] == source and pw["shape"] == shape]


@pytest.fixture(scope="module")
def res() -> dict[str, Any]:
    return run_all(crumb_graph())


@pytest.mark.parametrize(
    ("source", "shape", "layer", "last"),
    [
        ("cp1", "comment_mention", "b_mention", "m1"),
        ("cp2", "bio_link", "b_bio", "https://invite.example/join/x1"),
        ("cp1", "coded_hashtag", "b_tag", "qzcode"),
        ("cp1", "reshare", "b_share", "group"),
        ("cp2", "relay", "b_relay", "ab2"),
    ],
)
def test_every_laid_crumb_shape_is_named_with_its_layer(
    res: dict[str, Any], source: str, shape: str, layer: str, last: str
) -> None:
    found = by_crumb(res, source, shape)
    assert found, f"no {shape} pathway from {source}"
    pw = found[0]
    assert pw["laid_by"] == [layer] and pw["tier"] == 3
    assert pw["nodes"][-1]["id"] == last
    assert all(pw["created_by"][i] == layer for i in pw["crumbs"])


def test_relay_is_named_and_flagged_as_relay(res: dict[str, Any]) -> None:
    pw = by_crumb(res, "cp2", "relay")[0]
    assert pw["relays"] == ["relay1"]
    assert [n["id"] for n in pw["nodes"]] == ["cp2", "cr1", "relay1", "rp1", "ab2"]
    assert pw["edges"] == ["REPLY_TO", "MENTIONS", "POSTED", "SHARES"]
    roles = {(a["account_id"], a["role"]) for a in res["flagged_accounts"]}
    assert ("relay1", "relay") in roles and ("b_relay", "bridge") in roles
    assert ("relay1", "bridge") not in roles


def test_bridges_are_the_crumb_layers_and_no_decoy(res: dict[str, Any]) -> None:
    bridges = {a["account_id"]: a for a in res["flagged_accounts"] if a["role"] == "bridge"}
    assert set(bridges) == {"b_mention", "b_bio", "b_tag", "b_share", "b_relay", "b_dup"}
    assert bridges["b_relay"]["shapes"] == ["relay"] and bridges["b_relay"]["sources"] == 1
    flagged = {a["account_id"] for a in res["flagged_accounts"]}
    assert not flagged & {"benign", "hub", "news", "teacher", "fan", "fp", "fp2", "kid3", "kid4", "tagger"}


def test_recommendation_names_no_bridge(res: dict[str, Any]) -> None:
    pw = by_crumb(res, "cp3", "recommendation")[0]
    assert pw["laid_by"] == [] and pw["bridges"] == [] and pw["tier"] == 2
    assert pw["edges"] == ["RECOMMENDS"] and pw["nodes"][-1]["id"] == "m5post"


def test_incidental_walk_is_left_out_and_ranks_below_every_trail() -> None:
    default = run_all(crumb_graph())
    assert not [pw for pw in default["pathways"] if pw["source"]["id"] == "cp4"]
    every = run_all(crumb_graph(), {"pathways": {"min_tier": 0}})
    inc = [pw for pw in every["pathways"] if pw["source"]["id"] == "cp4"]
    assert inc and all(pw["tier"] == 0 and pw["laid_by"] == [] for pw in inc)
    assert {pw["shape"] for pw in inc} == {"incidental"}
    laid = [pw["score"] for pw in every["pathways"] if pw["tier"] >= 1]
    assert max(pw["score"] for pw in inc) < min(laid)


def test_plain_comment_of_a_bridge_ranks_below_its_laid_crumbs(res: dict[str, Any]) -> None:
    assert not [pw for pw in res["pathways"] if pw["source"]["id"] == "cp5"]  # tier 1: not in the default queue
    res = run_all(crumb_graph(), {"pathways": {"min_tier": 1}})
    plain = [pw for pw in res["pathways"] if [n["id"] for n in pw["nodes"]][:2] == ["cp5", "plain"]]
    assert plain and all(pw["tier"] == 1 and pw["evidence_terms"]["pointer"] == 0 for pw in plain)
    assert max(pw["score"] for pw in plain) < min(pw["score"] for pw in res["pathways"] if pw["tier"] == 3)


def test_score_is_tier_evidence_and_capped_probability(res: dict[str, Any]) -> None:
    by_id = {pw["pathway_id"]: pw for pw in res["pathways"]}
    for pw in res["pathways"]:
        rep = by_id[pw["trail"]]
        e = pw["evidence"]
        assert e == pytest.approx(sum(pw["evidence_terms"].values()))
        p = min(pw["probability"], rep["probability"])
        assert pw["score"] == pytest.approx(pw["tier"] + 0.9 * e / (e + 10) + 0.1 * p)
    scores = [pw["score"] for pw in res["pathways"]]
    assert scores == sorted(scores, reverse=True)


def test_near_duplicates_collapse_into_trails(res: dict[str, Any]) -> None:
    trails: dict[str, list[dict[str, Any]]] = {}
    for pw in res["pathways"]:
        trails.setdefault(pw["trail"], []).append(pw)
    for rep_id, members in trails.items():
        rep = next(pw for pw in members if pw["pathway_id"] == rep_id)
        assert all(pw["duplicates"] == len(members) - 1 for pw in members)
        assert len({(pw["source"]["id"], pw["cluster_id"], tuple(pw["laid_by"])) for pw in members}) == 1
        assert rep["score"] == max(pw["score"] for pw in members)
    dup = [pw for pw in res["pathways"] if pw["source"]["id"] == "cp6"]
    assert len(dup) >= 2 and len({pw["trail"] for pw in dup}) == 1
    rep = next(pw for pw in dup if pw["trail"] == pw["pathway_id"])
    assert rep["shape"] == "comment_mention" and {pw["shape"] for pw in dup} >= {"comment_mention", "follow"}


def test_a_relay_with_no_trail_yet_is_named_below_relays_on_trails(res: dict[str, Any]) -> None:
    relays = {a["account_id"]: a for a in res["flagged_accounts"] if a["role"] == "relay"}
    assert set(relays) == {"relay1", "relay2"}
    assert relays["relay2"]["pathways"] == [] and relays["relay2"]["score"] < relays["relay1"]["score"]


def test_a_crumb_reached_through_a_recommendation_is_not_anchored(res: dict[str, Any]) -> None:
    via = [pw for pw in res["pathways"] if pw["source"]["id"] == "cp7" and pw["laid_by"] == ["tagger"]]
    assert all(pw["tier"] < 3 and pw["evidence_terms"]["anchored"] == 0 for pw in via)


def test_relay_and_bio_link_crumbs_are_found_by_pattern_however_improbable() -> None:
    res = run_all(crumb_graph(), {"pathways": {"min_probability": 0.9}})  # the search finds next to nothing
    shapes = {(pw["source"]["id"], pw["shape"], tuple(pw["laid_by"])) for pw in res["pathways"]}
    assert ("cp2", "relay", ("b_relay",)) in shapes
    assert ("cp2", "bio_link", ("b_bio",)) in shapes
    bio = next(pw for pw in res["pathways"] if pw["shape"] == "bio_link")
    assert bio["edges"] == ["REPLY_TO", "MENTIONS", "BIO_LINK"] and bio["probability"] < 0.9

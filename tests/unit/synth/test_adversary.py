"""The adversarial world: relays, incidental walks, contacts with and without a cluster tie,
coaches and relatives, label noise, and truth version 2 listing each of them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from synth import DECOY_KINDS, SynthParams, generate_snapshot
from tests.unit.synth.support import SEED, N


def _follows(adv: dict[str, Any]) -> set[tuple[str, str]]:
    f = adv["rows"]["follows"]
    return set(zip(f["follower_id"], f["followee_id"]))


def test_truth_v2_lists_every_adversarial_structure(adv):
    t = adv["truth"]
    assert (t["version"], t["world"]) == (2, "adversarial")
    for key in ("relays", "contacts", "incidental_walks", "decoys_by_kind", "bridges", "trails"):
        assert t[key], key
    assert set(t["decoys_by_kind"]) == set(DECOY_KINDS)
    assert [g["account_id"] for g in t["groomers"]] == [c["account_id"] for c in t["contacts"]]
    assert {c["tied"] for c in t["contacts"]} == {True, False}


def test_relays_post_shares_of_cluster_content_and_are_not_members(adv):
    t, edges, author = adv["truth"], adv["edges"], adv["author"]
    clusters = {c["cluster_id"]: c for c in t["clusters"]}
    for r in t["relays"]:
        cl = clusters[r["cluster_id"]]
        assert r["account_id"] not in cl["accounts"] and r["shares"]
        for item in r["shares"]:
            assert author[item] == r["account_id"]
            shared = [e[4] for e in edges if e[:3] == ("content", item, "SHARES")]
            assert shared and set(shared) <= set(cl["content"])


def test_incidental_walks_are_real_and_laid_by_nobody(adv):
    t, edges, author, label = adv["truth"], adv["edges"], adv["author"], adv["label"]
    bridges = {b["account_id"] for b in t["bridges"]}
    clusters = {c["cluster_id"]: c for c in t["clusters"]}
    for w in t["incidental_walks"]:
        assert label[w["source_content_id"]] == "child_oriented"
        assert ("content", w["source_content_id"], "RECOMMENDS", "content", w["via_content_id"]) in edges
        assert ("content", w["comment_id"], "REPLY_TO", "content", w["via_content_id"]) in edges
        assert author[w["comment_id"]] == w["member_account_id"] in clusters[w["cluster_id"]]["accounts"]
        assert author[w["via_content_id"]] not in bridges and label[w["via_content_id"]] == "none"
        assert w["comment_id"] in clusters[w["cluster_id"]]["content"]


def test_contacts_reach_unconnected_minors_by_mixed_channels(adv):
    t, follows = adv["truth"], _follows(adv)
    ages = dict(zip(adv["rows"]["accounts"]["account_id"], adv["rows"]["accounts"]["age_band"]))
    members = {c["cluster_id"]: set(c["accounts"]) for c in t["clusters"]}
    for c in t["contacts"]:
        minors = set(c["minors"])
        assert all(ages[m] == "minor" for m in minors) and len(minors) >= 15
        assert not any((a, b) in follows for a in minors for b in minors)
        assert sum((c["account_id"], m) in follows for m in minors) >= c["channels"]["follows"]
        tie = {m for m in members.get(c["cluster_id"] or "", set()) if (c["account_id"], m) in follows}
        assert bool(tie) == c["tied"]
        if not c["tied"]:
            assert not any((c["account_id"], m) in follows for ms in members.values() for m in ms)


@pytest.mark.parametrize("kind", ["coach", "relative", "teacher"])
def test_coaches_relatives_and_teachers_minors_are_one_connected_group(adv, kind):
    follows = _follows(adv)
    entries = [d for d in adv["truth"]["decoys"] if d["decoy"] == kind]
    assert entries
    for d in entries:
        minors = d["minors"]
        assert len(minors) >= 2
        assert all((a, b) in follows for a in minors for b in minors if a != b)
        assert all((d["account_id"], m) in follows and (m, d["account_id"]) in follows for m in minors)


def test_label_noise_false_positives_are_isolated_and_members_go_unlabelled(adv):
    t, author, label = adv["truth"], adv["author"], adv["label"]
    fps = [d for d in t["decoys"] if d["decoy"] == "false_positive_label"]
    assert len(fps) >= 3
    by_author: dict[str, list[str]] = defaultdict(list)
    for cid, a in author.items():
        if label[cid] == "abusive":
            by_author[a].append(cid)
    for d in fps:
        assert by_author[d["account_id"]] == [d["content_id"]]
    for cl in t["clusters"]:
        unlabelled = set(cl["unlabelled_members"])
        assert unlabelled and unlabelled < set(cl["accounts"])
        assert all(not by_author[m] for m in unlabelled)
        assert all(by_author[m] for m in set(cl["accounts"]) - unlabelled)


def test_adversarial_bridges_also_follow_childs_owner_and_put_mega_tags_on_crumbs(adv):
    t, follows, author, edges = adv["truth"], _follows(adv), adv["author"], adv["edges"]
    bridged = [tr for tr in t["trails"] if tr["bridge"]]
    owner_followed = sum((tr["bridge"], author[tr["source"]]) in follows for tr in bridged)
    mega = {d for d in t["decoys_by_kind"]["mega_hashtag"]}
    tagged = sum(
        any(("content", tr["nodes"][1]["id"], "TAGGED", "hashtag", m) in edges for m in mega) for tr in bridged
    )
    assert owner_followed > len(bridged) / 3 and tagged > len(bridged) / 5


@pytest.mark.parametrize("mix", [0.0, 3.0, 10.0])
def test_the_adversarial_world_is_deterministic_at_every_mix(mix):
    a = generate_snapshot(SynthParams(accounts=1500, seed=SEED, background_mix=mix))
    b = generate_snapshot(SynthParams(accounts=1500, seed=SEED, background_mix=mix))
    assert a.truth == b.truth and all(a.tables[k].equals(b.tables[k]) for k in a.tables)
    assert a.truth["relays"] and a.truth["incidental_walks"] and N > 1500

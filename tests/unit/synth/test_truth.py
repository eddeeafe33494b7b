"""truth.json: says it is synthetic, and every entity it lists is in the written rows."""

from __future__ import annotations

from tests.unit.synth.support import SEED, N


def test_truth_header_says_synthetic(truth, written):
    assert truth["synthetic"] is True
    assert (truth["generator"], truth["version"], truth["seed"], truth["accounts"]) == ("crumbgraph-synth", 2, SEED, N)
    assert truth["world"] == "classic"
    assert "SYNTHETIC" in (written / "README.txt").read_text()


def test_every_truth_entity_is_in_the_rows(rows, truth, author):
    accounts = dict(zip(rows["accounts"]["account_id"], rows["accounts"]["age_band"]))
    lk = rows["links"]
    urls = {d for k, d in zip(lk["dst_kind"], lk["dst_id"]) if k == "url"}
    tags = {d for k, d in zip(lk["dst_kind"], lk["dst_id"]) if k == "hashtag"}
    labels = dict(zip(rows["content"]["content_id"], rows["content"]["label"]))
    assert len(truth["clusters"]) >= 2
    for cl in truth["clusters"]:
        assert 10 <= len(cl["accounts"]) <= 40
        assert all(accounts[a] == "adult" for a in cl["accounts"])
        assert all(author[c] in cl["accounts"] for c in cl["content"])
        assert set(cl["urls"]) <= urls and set(cl["hashtags"]) <= tags
        abusive = [c for c in cl["content"] if labels[c] == "abusive"]
        assert len(abusive) > len(cl["content"]) / 4  # comments between members are unlabelled
    members = {a for cl in truth["clusters"] for a in cl["accounts"]}
    for br in truth["bridges"]:
        assert accounts[br["account_id"]] == "adult" and br["account_id"] not in members
        assert len(br["trails"]) >= 3
    for g in truth["groomers"]:
        assert accounts[g["account_id"]] == "adult"
        assert len(g["minors"]) >= 15 and all(accounts[m] == "minor" for m in g["minors"])
    for d in truth["decoys"]:
        assert set(d) >= {"decoy", "account_id", "hashtag", "content_id"}
        assert d["account_id"] is None or d["account_id"] in accounts
        assert d["content_id"] is None or d["content_id"] in labels
        assert d["hashtag"] is None or d["hashtag"] in tags

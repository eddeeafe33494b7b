"""The four tables: the ingest columns and unique ids; follows de-duplicated and kept unlinked;
graph.model codes decoded; URL links written last."""

from __future__ import annotations

import numpy as np

from graph.model import AccountStatus, AgeBand, ContentLabel
from synth.codes import ACC, CON, YEAR_START
from synth.tables import accounts_table, content_table, follows_table, links_table, number_content
from tests.unit.synth.support import N


def test_tables_have_the_ingest_columns_and_unique_ids(rows):
    assert list(rows["accounts"]) == ["account_id", "created_at", "age_band", "status"]
    assert list(rows["content"]) == [
        "content_id",
        "account_id",
        "created_at",
        "kind",
        "parent_id",
        "label",
        "label_source",
        "label_confidence",
    ]
    assert list(rows["follows"]) == ["follower_id", "followee_id", "created_at"]
    assert list(rows["links"]) == ["src_kind", "src_id", "dst_kind", "dst_id", "kind", "created_at"]
    assert len(set(rows["accounts"]["account_id"])) == N
    assert len(set(rows["content"]["content_id"])) == len(rows["content"]["content_id"])
    f = rows["follows"]
    pairs = list(zip(f["follower_id"], f["followee_id"]))
    assert len(set(pairs)) == len(pairs) and all(a != b for a, b in pairs)


def test_follows_table_drops_duplicates_self_follows_and_pairs_kept_unlinked(world):
    world.rows.add_follows(np.array([0, 0, 7, 2, 3, 2]), np.array([1, 1, 7, 3, 2, 4]))
    world.rows.keep_unlinked(np.array([2, 3]))
    t = follows_table(world, number_content(world)).to_pydict()
    pairs = list(zip(t["follower_id"], t["followee_id"]))
    assert len(pairs) == len(set(pairs)) and all(a != b for a, b in pairs)
    assert ("a0000000", "a0000001") in pairs and ("a0000002", "a0000004") in pairs
    assert not {("a0000002", "a0000003"), ("a0000003", "a0000002")} & set(pairs)
    assert world.rows.follows == []


def test_accounts_and_content_tables_decode_the_graph_model_codes(world):
    ids_ = number_content(world)
    accounts = accounts_table(world, ids_).to_pydict()
    assert accounts["age_band"] == [AgeBand.from_code(c).value for c in world.people.age]
    assert accounts["status"] == [AccountStatus.from_code(c).value for c in world.people.status]
    label = world.rows.column("label")
    content = content_table(world, ids_).to_pydict()
    number = {cid: j for j, cid in enumerate(content["content_id"])}
    for i in range(0, len(label), 97):  # the item with index i is on the row of its number
        row = number[ids_.content(i)]
        assert content["label"][row] == ContentLabel.from_code(label[i]).value
    assert sorted(number) == content["content_id"]


def test_links_table_writes_url_links_last_contents_first(world):
    world.rows.add_url_link(ACC, 5, "https://x.example/bio", YEAR_START)
    world.rows.add_url_link(CON, 0, "https://x.example/page", YEAR_START + 1)
    ids_ = number_content(world)
    links = links_table(world, ids_).to_pydict()
    tail = list(zip(links["src_kind"], links["src_id"], links["dst_kind"], links["dst_id"], links["kind"]))[-2:]
    assert tail == [
        ("content", ids_.content(0), "url", "https://x.example/page", "url"),
        ("account", "a0000005", "url", "https://x.example/bio", "bio"),
    ]
    assert links["created_at"][-2:] == ["2025-01-01T00:00:01Z", "2025-01-01T00:00:00Z"]

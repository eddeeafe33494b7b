"""Tests of the synthetic snapshot generator: determinism, realism, and that everything truth.json
claims (clusters, trails, groomers, decoys) really is in the written rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from api.cli import build_app
from graph.errors import ConfigError
from graph.model import RelType, rel_type_for_link_kind
from ingest.synth import SHAPES, TABLES, SynthParams, generate_snapshot, synth, write_snapshot

N = 3000
SEED = 11


@pytest.fixture(scope="module")
def snap():
    return generate_snapshot(SynthParams(accounts=N, seed=SEED))


@pytest.fixture(scope="module")
def written(tmp_path_factory, snap):
    out = tmp_path_factory.mktemp("synth") / "parquet"
    write_snapshot(snap, out, "parquet")
    return out


@pytest.fixture(scope="module")
def rows(written):
    """The tables as read back from the written Parquet files, as Python dicts of columns."""
    return {t: pq.read_table(written / f"{t}.parquet").to_pydict() for t in TABLES}


@pytest.fixture(scope="module")
def truth(written):
    return json.loads((written / "truth.json").read_text())


@pytest.fixture(scope="module")
def edges(rows):
    """Every relationship of the snapshot as (src_kind, src_id, type, dst_kind, dst_id)."""
    return _edges(rows)


def _edges(rows):
    out = set()
    c = rows["content"]
    for cid, aid, parent in zip(c["content_id"], c["account_id"], c["parent_id"]):
        out.add(("account", aid, RelType.POSTED.value, "content", cid))
        if parent is not None:
            out.add(("content", cid, RelType.REPLY_TO.value, "content", parent))
    f = rows["follows"]
    out |= {("account", a, RelType.FOLLOWS.value, "account", b) for a, b in zip(f["follower_id"], f["followee_id"])}
    lk = rows["links"]
    for sk, s, dk, d, k in zip(lk["src_kind"], lk["src_id"], lk["dst_kind"], lk["dst_id"], lk["kind"]):
        out.add((sk, s, rel_type_for_link_kind(k).value, dk, d))
    return out


@pytest.fixture(scope="module")
def author(rows):
    return dict(zip(rows["content"]["content_id"], rows["content"]["account_id"]))


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    for name in ("a", "b"):
        write_snapshot(generate_snapshot(SynthParams(accounts=N, seed=SEED)), tmp_path / name, "parquet")
    write_snapshot(generate_snapshot(SynthParams(accounts=N, seed=SEED + 1)), tmp_path / "c", "parquet")
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert sorted(a) == [
        "README.txt",
        "accounts.parquet",
        "content.parquet",
        "follows.parquet",
        "links.parquet",
        "truth.json",
    ]
    assert a["links.parquet"] != c["links.parquet"]


def test_truth_header_says_synthetic(truth, written):
    assert truth["synthetic"] is True
    assert (truth["generator"], truth["version"], truth["seed"], truth["accounts"]) == ("crumbgraph-synth", 1, SEED, N)
    assert "SYNTHETIC" in (written / "README.txt").read_text()


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


def test_each_trail_is_a_real_walk_laid_by_its_bridge_into_its_cluster(rows, truth, edges, author):
    clusters = {cl["cluster_id"]: cl for cl in truth["clusters"]}
    labels = dict(zip(rows["content"]["content_id"], rows["content"]["label"]))
    bridge_trails = {t for br in truth["bridges"] for t in br["trails"]}
    assert {t["shape"] for t in truth["trails"]} == set(SHAPES)
    assert {t["trail_id"] for t in truth["trails"]} == bridge_trails
    for tr in truth["trails"]:
        nodes, cl = tr["nodes"], clusters[tr["cluster_id"]]
        assert nodes[0] == {"kind": "content", "id": tr["source_content_id"]}
        assert labels[tr["source_content_id"]] == "child_oriented"
        assert len(tr["edges"]) == len(tr["directions"]) == len(nodes) - 1
        for a, b, rel, direction in zip(nodes, nodes[1:], tr["edges"], tr["directions"]):
            src, dst = (a, b) if direction == "forward" else (b, a)
            assert (src["kind"], src["id"], rel, dst["kind"], dst["id"]) in edges, (tr["trail_id"], a, b, rel)
        last = nodes[-1]
        owned = {"account": cl["accounts"], "content": cl["content"], "url": cl["urls"], "hashtag": cl["hashtags"]}
        assert last["id"] in owned[last["kind"]]
        assert all(n["id"] not in owned[n["kind"]] for n in nodes[:-1])
        # the reference leaving the child's post was made by the bridge
        assert author[nodes[1]["id"]] == tr["bridge_account_id"]


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


def test_groomers_contact_unconnected_minors(rows, truth, edges):
    for g in truth["groomers"]:
        kids = set(g["minors"])
        followed = {e[4] for e in edges if e[2] == "FOLLOWS" and e[1] == g["account_id"]}
        assert kids <= followed
        assert not [e for e in edges if e[2] == "FOLLOWS" and e[1] in kids and e[4] in kids]
        mentioned = {e[4] for e in edges if e[2] == "MENTIONS" and e[3] == "account" and e[4] in kids}
        assert mentioned == kids


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


def _sorted_rows(table: pa.Table) -> list[tuple]:
    cols = table.to_pydict()
    return sorted(zip(*cols.values()), key=repr)


def test_csv_and_jsonl_hold_the_same_rows_as_parquet(tmp_path, snap, written):
    for fmt in ("csv", "jsonl"):
        write_snapshot(snap, tmp_path / fmt, fmt)
    for t in TABLES:
        want = pq.read_table(written / f"{t}.parquet")
        types = {f.name: f.type for f in want.schema}
        got_csv = pacsv.read_csv(
            tmp_path / "csv" / f"{t}.csv",
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        got_json = pajson.read_json(
            tmp_path / "jsonl" / f"{t}.jsonl", parse_options=pajson.ParseOptions(explicit_schema=want.schema)
        )
        assert got_csv.column_names == got_json.column_names == want.column_names
        assert _sorted_rows(got_csv) == _sorted_rows(want) == _sorted_rows(got_json), t


def test_split_writes_multi_file_tables_with_the_same_rows(tmp_path, written):
    summary = synth(tmp_path / "s", accounts=N, seed=SEED, split=3)
    assert {"links-0000.parquet", "links-0001.parquet", "links-0002.parquet"} <= set(summary.files)
    for t in TABLES:
        parts = pa.concat_tables(pq.read_table(tmp_path / "s" / f"{t}-{i:04d}.parquet") for i in range(3))
        assert parts.equals(pq.read_table(written / f"{t}.parquet"))


def test_refuses_a_directory_with_a_snapshot_unless_forced(tmp_path, snap):
    write_snapshot(snap, tmp_path, "csv")
    with pytest.raises(ConfigError, match="--force"):
        write_snapshot(snap, tmp_path, "parquet")
    write_snapshot(snap, tmp_path, "parquet", force=True)
    assert not list(tmp_path.glob("*.csv"))  # no stale table of another format is left
    with pytest.raises(ConfigError, match="at least 1000"):
        SynthParams(accounts=10)


def test_cli_synth_writes_a_snapshot(tmp_path):
    result = CliRunner().invoke(
        build_app(), ["synth", "--accounts", "1500", "--seed", "3", "--out", str(tmp_path / "o"), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "planted" in result.output
    assert json.loads((tmp_path / "o" / "truth.json").read_text())["accounts"] == 1500
    assert {p.name for p in (tmp_path / "o").iterdir()} == {
        "accounts.csv",
        "content.csv",
        "follows.csv",
        "links.csv",
        "truth.json",
        "README.txt",
    }
    bad = CliRunner().invoke(build_app(), ["synth", "--accounts", "1500", "--out", str(tmp_path / "o")])
    assert bad.exit_code != 0 and isinstance(bad.exception, ConfigError)  # --out already holds one


# --------------------------------------------------------------------------- background mix

MIX = 1.0


@pytest.fixture(scope="module")
def mix_snap():
    return generate_snapshot(SynthParams(accounts=N, seed=SEED, background_mix=MIX))


@pytest.fixture(scope="module")
def mix(mix_snap):
    """rows, truth, edges and content authors of the background-mix snapshot (same seed as `snap`)."""
    rows = {t: mix_snap.tables[t].to_pydict() for t in TABLES}
    c = rows["content"]
    return {
        "rows": rows,
        "truth": mix_snap.truth,
        "edges": _edges(rows),
        "author": dict(zip(c["content_id"], c["account_id"])),
        "label": dict(zip(c["content_id"], c["label"])),
    }


def _owned(truth):
    """(kind, id) -> planted cluster id, for every node a cluster owns."""
    out = {}
    for cl in truth["clusters"]:
        for kind, key in (("account", "accounts"), ("content", "content"), ("url", "urls"), ("hashtag", "hashtags")):
            out.update({(kind, x): cl["cluster_id"] for x in cl[key]})
    return out


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
    owned = _owned(t)
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
    owned = _owned(t)
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
    for sk, s, rel, dk, d in edges:
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


def test_cli_synth_background_mix(tmp_path):
    result = CliRunner().invoke(
        build_app(),
        [
            "synth",
            "--accounts",
            "1500",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "m"),
            "--background-mix",
            "0.5",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "m" / "truth.json").read_text())
    assert truth["background_mix"] == 0.5 and truth["incidental"]
    assert "--background-mix 0.5" in (tmp_path / "m" / "README.txt").read_text()

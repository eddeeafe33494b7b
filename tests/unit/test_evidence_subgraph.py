"""Subgraph selection over a hand-made run: pathways, accounts, clusters and cases, hops of
context, the limits of data minimisation and unknown ids (synthetic data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detectors.runfolder import read_run
from evidence.package import build_package
from evidence.selection import Limits, Selection
from evidence.signing import SigningKey
from evidence.subgraph import select_subgraph
from graph.errors import ConfigError, NotFound
from tests.evidence_support import URL


def subgraph_of(run_dir: Path, selection: Selection, limits: Limits) -> dict:
    rf = read_run(run_dir)
    return select_subgraph(rf.projection(), rf.results, selection, limits)


def node_set(sg: dict) -> set[tuple[str, str, int]]:
    return {(n["kind"], n["id"], n["hop"]) for n in sg["nodes"]}


# -- selection -------------------------------------------------------------------------------
def test_pathway_alone_gives_its_nodes_and_the_edges_it_walks_in_either_direction(run_dir: Path) -> None:
    sg = subgraph_of(run_dir, Selection(pathways=("p1",)), Limits(hops=0))
    assert node_set(sg) == {("content", "c1", 0), ("content", "c3", 0), ("hashtag", "t1", 0), ("content", "c2", 0)}
    assert {(e["src"], e["type"], e["dst"], e["on_pathway"]) for e in sg["edges"]} == {
        ("content:c3", "REPLY_TO", "content:c1", True),
        ("content:c3", "TAGGED", "hashtag:t1", True),
        ("content:c2", "TAGGED", "hashtag:t1", True),
    }
    assert [p["pathway_id"] for p in sg["pathways"]] == ["p1"]
    assert [c["cluster_id"] for c in sg["clusters"]] == ["k1"]
    assert sg["clusters"][0]["accounts"] == [] and sg["clusters"][0]["n_accounts"] == 2  # minimised
    assert sg["flagged_accounts"] == []  # no flagged account inside
    assert not sg["truncated"]


def test_one_hop_of_context_adds_exactly_the_neighbours(run_dir: Path) -> None:
    sg = subgraph_of(run_dir, Selection(pathways=("p1",)), Limits(hops=1))
    assert node_set(sg) - node_set(subgraph_of(run_dir, Selection(pathways=("p1",)), Limits(hops=0))) == {
        ("account", "a1", 1),
        ("account", "a2", 1),
        ("account", "a3", 1),
        ("url", URL, 1),
    }
    roles = {n["id"]: n["role"] for n in sg["nodes"]}
    assert roles["c1"] == "pathway" and roles["a1"] == "context"
    a2 = next(n for n in sg["nodes"] if n["id"] == "a2")
    assert (a2["flag_score"], a2["flag_roles"], a2["age_band"]) == (0.7, ["bridge"], "adult")
    assert next(n for n in sg["nodes"] if n["id"] == URL)["domain"] == "ex.test"
    assert {f["account_id"] for f in sg["flagged_accounts"]} == {"a2", "a3"}
    assert sum(e["on_pathway"] for e in sg["edges"]) == 3 and len(sg["edges"]) == 7


def test_account_and_cluster_selection_pull_in_pathways_members_and_hops(run_dir: Path) -> None:
    by_account = subgraph_of(run_dir, Selection(accounts=("a2",)), Limits(hops=0))
    assert [p["pathway_id"] for p in by_account["pathways"]] == ["p1"]  # a2's pathways as bridge
    assert ("account", "a2", 0) in node_set(by_account)
    by_cluster = subgraph_of(run_dir, Selection(clusters=("k1",)), Limits(hops=2))
    ids = {(k, i): h for k, i, h in node_set(by_cluster)}
    assert ids[("account", "a3")] == ids[("account", "a4")] == ids[("content", "c2")] == 0
    assert ids[("account", "a5")] == 1 and ids[("account", "a6")] == 2
    assert ("account", "a7") not in ids  # unconnected: never included


def test_limits_cap_nodes_and_edges_keeping_the_pathway_first(run_dir: Path) -> None:
    sg = subgraph_of(run_dir, Selection(pathways=("p1",)), Limits(hops=2, max_nodes=5, max_edges=3))
    assert len(sg["nodes"]) == 5 and sg["truncated"]
    assert {("content", "c1"), ("content", "c3"), ("hashtag", "t1"), ("content", "c2")} <= {
        (n["kind"], n["id"]) for n in sg["nodes"]
    }
    assert len(sg["edges"]) == 3 and all(e["on_pathway"] for e in sg["edges"])


def test_a_case_selects_its_items(run_dir: Path) -> None:
    sel = Selection.from_case("case-1", [{"kind": "content", "id": "c1"}, {"kind": "account", "id": "a6"}])
    sg = subgraph_of(run_dir, sel, Limits(hops=0))
    assert node_set(sg) == {("content", "c1", 0), ("account", "a6", 0)} and sg["pathways"] == []
    assert sg["selection"]["case_id"] == "case-1"
    with pytest.raises(ConfigError, match="note"):
        Selection.from_case("case-1", [{"kind": "note", "id": "x"}])


def test_a_pathway_that_does_not_fit_is_left_out_whole(run_dir: Path, key: SigningKey, tmp_path: Path) -> None:
    sg = subgraph_of(run_dir, Selection(pathways=("p1",)), Limits(hops=1, max_nodes=3))
    assert sg["truncated"] and sg["pathways"] == [] and len(sg["nodes"]) == 3
    assert not any(e["on_pathway"] for e in sg["edges"])
    build_package(run_dir, tmp_path / "small", Selection(pathways=("p1",)), key, limits=Limits(max_nodes=3))
    doc = json.loads((tmp_path / "small" / "case.jsonld").read_text())
    assert all(o.get("core:object") for o in doc["@graph"] if o["@type"] == "core:Annotation")


@pytest.mark.parametrize(
    "selection",
    [
        Selection(pathways=("nope",)),
        Selection(clusters=("nope",)),
        Selection(accounts=("nope",)),
        Selection(content=("nope",)),
    ],
)
def test_unknown_ids_are_not_found(run_dir: Path, selection: Selection) -> None:
    with pytest.raises(NotFound, match="nope"):
        subgraph_of(run_dir, selection, Limits())


def test_empty_selection_is_refused(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        subgraph_of(run_dir, Selection(), Limits())

"""Quality bars of issue 10 on small SYNTHETIC snapshots of the adversarial world (3 seeds, at
background mix 0 and 5: cluster members with no ordinary life and with a busy one), scored by
bench/quality.py against the generator's truth.json — which only the scorer and this test read,
never the detectors. Bars the detectors do not meet yet on every case are `xfail(strict=False)`
(at mix 5 only, where they hold at mix 0), each naming its metric; they turn into XPASS as the
detectors improve, and lose the mark when they hold on every case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.quality import baseline, is_real_walk, score, stored_edges
from detectors.runner import run_detectors
from graph.projection import project
from graph.store import StoreConfig, open_store
from ingest.pipeline import load_snapshot
from synth import synth

ACCOUNTS = 3000
SEEDS = (1, 2, 3)
CASES = [(s, m) for m in (0.0, 5.0) for s in SEEDS]


def _open(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=False, reason=f"issue 10, not met yet: {reason}")


@pytest.fixture(scope="module", params=CASES, ids=[f"seed{s}-mix{m:g}" for s, m in CASES])
def scored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    seed, mix = request.param
    work = tmp_path_factory.mktemp(f"quality-{seed}-{mix:g}")
    snap = work / "snapshot"
    synth(snap, accounts=ACCOUNTS, seed=seed, background_mix=mix)
    truth = json.loads((snap / "truth.json").read_text())
    with open_store(StoreConfig(url=f"embedded:{work / 'g.duckdb'}")) as store:
        store.ensure_schema()
        load_snapshot(snap, store, quarantine_dir=work / "q")
        rec = run_detectors(store, runs_dir=work / "runs", freeze_projection=False)
        proj = project(store)
    results = json.loads((Path(rec.run_dir or "") / "results.json").read_text())
    edges = stored_edges(proj, {n["id"] for pw in results["pathways"] for n in pw["nodes"]})
    base = score(baseline(proj), truth) if mix == 0 else None
    return {
        "truth": truth,
        "results": results,
        "edges": edges,
        "method": score(results, truth, edges),
        "baseline": base,
    }


def test_the_world_is_adversarial(scored: dict[str, Any]) -> None:
    t = scored["truth"]
    assert t["world"] == "adversarial" and t["relays"] and t["incidental_walks"]
    assert {tr["shape"] for tr in t["trails"]} >= {"bio_link", "relay", "recommendation"}
    assert {c["tied"] for c in t["contacts"]} == {True, False}


def test_no_decoy_flagged(scored: dict[str, Any]) -> None:
    assert scored["method"]["decoys_flagged"] == []


def test_bridge_precision(scored: dict[str, Any]) -> None:
    assert scored["method"]["bridge_precision"] >= 0.90


def test_every_pathway_is_a_real_walk(scored: dict[str, Any]) -> None:
    pws = scored["results"]["pathways"]
    assert all(is_real_walk(pw, scored["edges"]) for pw in pws)
    assert pws


def test_contact_precision(scored: dict[str, Any]) -> None:
    assert scored["method"]["contact_precision"] >= 0.90


def test_naive_baseline_falls_short(scored: dict[str, Any]) -> None:
    b, m = scored["baseline"], scored["method"]
    if b is not None:
        assert b["pathway_recall_at_k"] < m["pathway_recall_at_k"]
        assert b["bridge_recall"] < m["bridge_recall"] or b["decoys_flagged"]


def test_bridge_recall(scored: dict[str, Any]) -> None:
    assert scored["method"]["bridge_recall"] >= 0.95


def test_relay_recall(scored: dict[str, Any]) -> None:
    assert scored["method"]["relay_recall"] >= 0.95


def test_clusters_recovered_none_missed(scored: dict[str, Any]) -> None:
    m = scored["method"]
    assert m["cluster_jaccard"] >= 0.95 and m["clusters_missed"] == []


def test_pathway_recall(scored: dict[str, Any]) -> None:
    assert scored["method"]["pathway_recall"] >= 0.95


def test_pathway_precision_at_k(scored: dict[str, Any]) -> None:
    assert scored["method"]["pathway_precision_at_k"] >= 0.80


def test_pathway_recall_at_k(scored: dict[str, Any]) -> None:
    assert scored["method"]["pathway_recall_at_k"] >= 0.90


def test_contact_recall(scored: dict[str, Any]) -> None:
    assert scored["method"]["contact_recall"] >= 0.90

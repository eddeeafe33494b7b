"""A real detector run against the typed results model: results.json is exactly the model's
serialisation (so the model holds every field the detectors emit), every item has the keys the
examples and docs/results.md promise for it, and the API serves the stored items unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detectors.results import CLUSTER_EXAMPLE, EXPOSURE_EXAMPLE, FLAGGED_ACCOUNT_EXAMPLES, PATHWAY_EXAMPLE, Results
from detectors.runner import canonical_json
from graph.embedded import EmbeddedStore
from tests.api_support import app_for, make_env, real_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes, Path]:
    tmp = tmp_path_factory.mktemp("results-format")
    info = real_run(tmp / "runs", tmp_path_factory)
    return info["run_id"], (tmp / "runs" / info["run_id"] / "results.json").read_bytes(), tmp


def test_results_json_is_the_models_serialisation(run: tuple[str, bytes, Path]) -> None:
    _, raw, _ = run
    assert canonical_json(Results.model_validate_json(raw).model_dump(mode="json")) == raw


def test_every_item_has_the_keys_of_its_example(run: tuple[str, bytes, Path]) -> None:
    res = json.loads(run[1])
    assert res["clusters"] and res["pathways"] and res["exposure"]
    assert all(list(c) == list(CLUSTER_EXAMPLE) for c in res["clusters"])
    assert all(list(p) == list(PATHWAY_EXAMPLE) for p in res["pathways"])
    assert all(list(e) == list(EXPOSURE_EXAMPLE) for e in res["exposure"])
    examples = {e["role"]: list(e) for e in FLAGGED_ACCOUNT_EXAMPLES}
    roles = {a["role"] for a in res["flagged_accounts"]}
    assert roles <= set(examples) and {"bridge", "cluster_member"} <= roles  # relays: adversarial worlds only
    assert all(list(a) == examples[a["role"]] for a in res["flagged_accounts"])
    nodes = [n for p in res["pathways"] for n in p["nodes"]]
    assert all(("content_kind" in n) == (n["kind"] == "content") for n in nodes)
    assert all(list(p["source"]) == ["kind", "id"] for p in res["pathways"])


def _served(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get(path, headers=headers, params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def test_api_serves_the_stored_items_unchanged(run: tuple[str, bytes, Path]) -> None:
    run_id, raw, tmp = run
    res = json.loads(raw)
    store = EmbeddedStore(tmp / "api.duckdb")
    try:
        store.save_run(run_id, {"run_id": run_id, "started_at": "2026-03-01T12:00:00+00:00"}, raw)
        env = make_env(tmp, "r-")
        with TestClient(app_for(env, store)) as client:
            inv = env.auth("investigator")
            for section in ("pathways", "clusters", "flagged_accounts"):
                served = _served(client, inv, f"/runs/{run_id}/results", section=section)
                key = {"pathways": "pathway_id", "clusters": "cluster_id", "flagged_accounts": "account_id"}[section]
                assert sorted(served, key=lambda x: json.dumps(x)) == sorted(res[section], key=lambda x: json.dumps(x))
                assert {x[key] for x in served} == {x[key] for x in res[section]}
            pw = res["pathways"][0]
            assert client.get(f"/runs/{run_id}/pathways/{pw['pathway_id']}", headers=inv).json() == pw
            c = res["clusters"][0]
            detail = client.get(f"/runs/{run_id}/clusters/{c['cluster_id']}", headers=inv).json()
            entry = sum(p["cluster_id"] == c["cluster_id"] for p in res["pathways"])
            assert detail == {**c, "entry_pathways": entry}
            member = next(a for a in res["flagged_accounts"] if a["role"] == "cluster_member")
            by_role = _served(client, inv, f"/runs/{run_id}/flagged-accounts", role="cluster_member")
            assert member in by_role and all(a["role"] == "cluster_member" for a in by_role)
    finally:
        store.close()


def test_the_queue_reads_as_trails_and_every_pathway_stays_reachable(run: tuple[str, bytes, Path]) -> None:
    run_id, raw, tmp = run
    res = json.loads(raw)
    (tmp / "trails").mkdir(exist_ok=True)
    store = EmbeddedStore(tmp / "trails" / "api.duckdb")
    try:
        store.save_run(run_id, {"run_id": run_id, "started_at": "2026-03-01T12:00:00+00:00"}, raw)
        env = make_env(tmp / "trails", "t-")
        with TestClient(app_for(env, store)) as client:
            inv = env.auth("investigator")
            every = _served(client, inv, f"/runs/{run_id}/pathways")
            assert [p["pathway_id"] for p in every] == [p["pathway_id"] for p in res["pathways"]]  # queue order
            reps = _served(client, inv, f"/runs/{run_id}/pathways", trails_only="true")
            assert reps and all(p["trail"] == p["pathway_id"] for p in reps)
            assert [p["score"] for p in reps] == sorted((p["score"] for p in reps), reverse=True)
            reached = [p for r in reps for p in _served(client, inv, f"/runs/{run_id}/pathways", trail=r["trail"])]
            assert sorted(p["pathway_id"] for p in reached) == sorted(p["pathway_id"] for p in res["pathways"])
            assert all(
                len(_served(client, inv, f"/runs/{run_id}/pathways", trail=r["trail"])) == r["duplicates"] + 1
                for r in reps[:5]
            )
    finally:
        store.close()

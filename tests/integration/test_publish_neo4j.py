"""`crumbgraph publish` on the real Neo4j: a SYNTHETIC run's results written into the graph, the
five questions of docs/neo4j.md answered from it (each checked against results.json and the
snapshot), publishing twice changes nothing, and unpublish removes exactly what was written.

The dev/CI Neo4j may be shared: every id carries a unique prefix (as in test_cross_store) and all
of it is deleted afterwards."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from api.cli import build_app
from detectors.results import Results
from detectors.runner import run_detectors
from graph.errors import NotFound
from graph.store import GraphStore, StoreConfig, open_store
from ingest.pipeline import load_snapshot
from publish import publish_run, unpublish_run
from publish.writer import NotNeo4j, publish_results
from synth import synth
from tests.integration.test_cross_store import PrefixView, prefix_snapshot, wipe

DOC = Path(__file__).resolve().parents[2] / "docs" / "neo4j.md"
pytestmark = pytest.mark.neo4j


def cypher_blocks() -> list[str]:
    return re.findall(r"```cypher\n(.*?)```", DOC.read_text(), flags=re.S)


class Published:
    def __init__(self, store: GraphStore, prefix: str, run_dir: Path, snapshot: Path, results: dict[str, Any]) -> None:
        self.store, self.prefix, self.run_dir, self.snapshot, self.results = store, prefix, run_dir, snapshot, results
        self.run_id = results["run_id"]

    def query(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        driver = self.store._driver  # type: ignore[attr-defined]
        records = driver.execute_query(cypher, params, database_=self.store.database).records  # type: ignore[attr-defined]
        return [r.data() for r in records]

    def result_counts(self) -> dict[str, int]:
        """Every node and relationship that carries this run's results, by kind."""
        q = {
            "clusters": "MATCH (n:Cluster {run_id: $r}) RETURN count(n)",
            "pathways": "MATCH (n:Pathway {run_id: $r}) RETURN count(n)",
            "members": "MATCH (:Cluster {run_id: $r})<-[x:MEMBER_OF]-() RETURN count(x)",
            "owns": "MATCH (:Cluster {run_id: $r})-[x:OWNS]->() RETURN count(x)",
            "steps": "MATCH (:Pathway {run_id: $r})-[x:STEP]->() RETURN count(x)",
            "reaches": "MATCH (:Pathway {run_id: $r})-[x:REACHES]->() RETURN count(x)",
            "flags": "MATCH (:Run {run_id: $r})<-[x:FLAGGED_IN]-() RETURN count(x)",
            "exposed": "MATCH (:Run {run_id: $r})<-[x:EXPOSED_IN]-() RETURN count(x)",
        }
        return {k: next(iter(self.query(v, r=self.run_id)[0].values())) for k, v in q.items()}

    def graph_counts(self) -> dict[str, int]:
        return self.store.counts()


@pytest.fixture(scope="module")
def published(neo4j_config: StoreConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    import json

    tmp = tmp_path_factory.mktemp("publish")
    p = f"pub{uuid.uuid4().hex[:10]}-"
    synth(tmp / "raw", accounts=1000, seed=11)
    prefix_snapshot(tmp / "raw", tmp / "snapshot", p)
    store = open_store(
        StoreConfig(
            url=neo4j_config.url,
            neo4j_user=neo4j_config.neo4j_user,
            neo4j_password=neo4j_config.neo4j_password,
            neo4j_database=neo4j_config.neo4j_database,
            batch_size=5_000,
        )
    )
    run_id = f"{p}run"
    try:
        store.ensure_schema()
        load_snapshot(tmp / "snapshot", store, quarantine_dir=tmp / "q")
        record = run_detectors(PrefixView(store, p), runs_dir=tmp / "runs", run_id=run_id)  # type: ignore[arg-type]
        run_dir = Path(record.run_dir or "")
        before = store.counts()
        report = publish_run(run_dir, store)
        assert store.counts() == before  # publishing adds no snapshot node or relationship
        assert report.clusters == record.counts["clusters"] > 0 and report.pathways == record.counts["pathways"] > 0
        yield Published(store, p, run_dir, tmp / "snapshot", json.loads((run_dir / "results.json").read_bytes()))
    finally:
        unpublish_run(run_id, store)
        wipe(store, p)
        store.close()


def test_the_doc_has_five_questions() -> None:
    assert len(cypher_blocks()) == 5


def test_q1_what_the_run_found(published: Published) -> None:
    rows = published.query(cypher_blocks()[0], run_id=published.run_id)
    clusters = published.results["clusters"]
    assert [r["cluster_id"] for r in rows] == [c["cluster_id"] for c in clusters]
    assert [(r["score"], r["members"], r["content"], r["urls"], r["hashtags"]) for r in rows] == [
        (c["score"], len(c["accounts"]), len(c["content"]), len(c.get("urls", [])), len(c.get("hashtags", [])))
        for c in clusters
    ]


def test_q2_who_lays_the_crumbs(published: Published) -> None:
    rows = published.query(cypher_blocks()[1], run_id=published.run_id)
    bridges = [a for a in published.results["flagged_accounts"] if a["role"] == "bridge"]
    assert bridges, "the synthetic run has bridges"
    cluster_of = {p["pathway_id"]: p["cluster_id"] for p in published.results["pathways"]}
    assert [(r["account_id"], r["score"], r["pathways"], sorted(r["clusters"])) for r in rows] == [
        (b["account_id"], b["score"], len(b["pathways"]), sorted({cluster_of[p] for p in b["pathways"]}))
        for b in bridges
    ]


def test_q3_one_item_hop_by_hop(published: Published) -> None:
    best = published.results["pathways"][0]
    rows = published.query(cypher_blocks()[2], run_id=published.run_id, content_id=best["source"]["id"])
    first = next(p for p in published.results["pathways"] if p["source"]["id"] == best["source"]["id"])
    assert {r["pathway_id"] for r in rows} == {first["pathway_id"]}
    assert [(r["label"].lower(), r["id"]) for r in rows] == [(n["kind"], n["id"]) for n in first["nodes"]]
    assert [r["via"] for r in rows] == [None, *first["edges"]]
    assert [r["probability"] for r in rows] == [None, *first["hop_probabilities"]]


def test_q4_most_exposed_items(published: Published) -> None:
    rows = published.query(cypher_blocks()[3], run_id=published.run_id)
    exposure = published.results["exposure"][:10]
    starts = Counter(p["source"]["id"] for p in published.results["pathways"])
    assert len(rows) == len(exposure) == 10
    assert [(r["content_id"], r["probability"], r["pathways"]) for r in rows] == [
        (e["content_id"], e["probability"], starts[e["content_id"]]) for e in exposure
    ]


def test_q5_who_is_around_a_cluster(published: Published) -> None:
    rows = published.query(cypher_blocks()[4], run_id=published.run_id)
    follows = pq.read_table(published.snapshot / "follows.parquet").to_pylist()
    expected: Counter[tuple[str, str]] = Counter()
    for c in published.results["clusters"]:
        members = set(c["accounts"])
        pairs = {(f["follower_id"], f["followee_id"]) for f in follows}
        for follower, followee in pairs:
            if followee in members and follower not in members:
                expected[(c["cluster_id"], follower)] += 1
    ranked = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0][1]))[:10]
    assert rows, "the synthetic clusters have followers outside them"
    assert [r["members_followed"] for r in rows] == [n for _, n in ranked]
    assert {(r["cluster_id"], r["account_id"]) for r in rows if r["members_followed"] > ranked[-1][1]} == {
        k for k, n in ranked if n > ranked[-1][1]
    }


def test_publishing_again_changes_nothing(published: Published) -> None:
    results_before, graph_before = published.result_counts(), published.graph_counts()
    assert results_before["steps"] == sum(len(p["nodes"]) for p in published.results["pathways"])
    assert results_before["flags"] == len(published.results["flagged_accounts"])
    publish_run(published.run_dir, published.store)
    assert published.result_counts() == results_before
    assert published.graph_counts() == graph_before


def test_unpublish_removes_exactly_the_run_then_cli_publishes_it_back(
    published: Published, neo4j_config: StoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph_before, results_before = published.graph_counts(), published.result_counts()
    report = unpublish_run(published.run_id, published.store)
    assert (report.clusters, report.pathways) == (results_before["clusters"], results_before["pathways"])
    assert report.flags == results_before["flags"] + results_before["exposed"]
    assert not report.run_node_deleted  # the store keeps this run's record on it
    assert set(published.result_counts().values()) == {0}
    assert published.graph_counts() == graph_before  # the snapshot is untouched
    assert published.store.get_run(published.run_id)["run_id"] == published.run_id
    assert published.query("MATCH (r:Run {run_id: $r}) RETURN r.published AS p", r=published.run_id) == [{"p": None}]
    again = unpublish_run(published.run_id, published.store)
    assert (again.clusters, again.pathways, again.flags) == (0, 0, 0)

    monkeypatch.setenv("CRUMBGRAPH_NEO4J_PASSWORD", neo4j_config.neo4j_password)
    monkeypatch.setenv("CRUMBGRAPH_NEO4J_USER", neo4j_config.neo4j_user)
    out = CliRunner().invoke(build_app(), ["publish", str(published.run_dir), "--store", neo4j_config.url, "--json"])
    assert out.exit_code == 0, out.output
    assert published.result_counts() == results_before


def test_publish_refuses_an_embedded_store(published: Published, tmp_path: Path) -> None:
    embedded = open_store(StoreConfig(url=f"embedded:{tmp_path / 'e.duckdb'}"))
    with embedded, pytest.raises(NotNeo4j, match="needs a Neo4j store"):
        publish_run(published.run_dir, embedded)


def test_publish_refuses_results_whose_nodes_are_not_in_the_store(published: Published) -> None:
    results = Results.model_validate(published.results)
    ghost = results.clusters[0].model_copy(update={"accounts": [f"{published.prefix}ghost-1", "nobody-2"]})
    other = results.model_copy(update={"run_id": f"{published.prefix}ghost-run", "clusters": [ghost]})
    before = published.result_counts()
    with pytest.raises(NotFound, match=r"run .*ghost-run: 2 of its \d+ account nodes are not in .*nobody-2"):
        publish_results(published.store, other, {})
    assert published.query("MATCH (r:Run {run_id: $r}) RETURN r", r=other.run_id) == []  # nothing written
    assert published.result_counts() == before


def test_investigators_publish_through_the_api_as_a_job_everyone_sees(
    published: Published, neo4j_config: StoreConfig, tmp_path: Path
) -> None:
    import shutil
    import time

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api_support import make_env

    env = make_env(tmp_path, "pubapi-")
    shutil.copytree(published.run_dir, env.settings.runs_dir / published.run_id)
    expected = published.result_counts()
    app = create_app(env.settings, store=published.store)
    with TestClient(app) as client:
        inv = env.auth("investigator")
        gone = client.delete(f"/runs/{published.run_id}/publish", headers=inv).json()
        assert (gone["clusters"], gone["pathways"]) == (expected["clusters"], expected["pathways"])
        assert set(published.result_counts().values()) == {0}
        job = client.post(f"/runs/{published.run_id}/publish", headers=inv).json()
        assert (job["kind"], job["submitted_by"]) == ("publish", "investigator")
        deadline = time.monotonic() + 120
        while True:
            listed = client.get("/jobs", params={"kind": "publish"}, headers=env.auth("admin")).json()["items"]
            if listed[0]["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert listed[0]["job_id"] == job["job_id"] and listed[0]["status"] == "succeeded", listed[0]
        assert published.result_counts() == expected
        assert client.post("/runs/no-such-run/publish", headers=inv).status_code == 404
        assert client.post(f"/runs/{published.run_id}/publish", headers=env.auth("auditor")).status_code == 403

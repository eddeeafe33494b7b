"""The main job end to end on a small SYNTHETIC snapshot: synth -> ingest (embedded store) ->
run_detectors -> run folder, run record in the store, determinism, the frozen projection, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from detectors.runfolder import RunRecord
from detectors.runner import resolve_params, run_detectors, run_projection
from graph.errors import DetectorError
from graph.progress import fraction
from graph.projection import Projection
from graph.store import GraphStore, StoreConfig, open_store
from ingest.pipeline import load_snapshot
from synth import synth

ACCOUNTS, SEED = 2000, 5


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("snap") / "snapshot"
    synth(out, accounts=ACCOUNTS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def store(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> GraphStore:
    db = tmp_path_factory.mktemp("db") / "g.duckdb"
    st = open_store(StoreConfig(url=f"embedded:{db}"))
    st.ensure_schema()
    load_snapshot(snapshot, st, quarantine_dir=db.parent / "q")
    yield st
    st.close()


@pytest.fixture(scope="module")
def two_runs(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunRecord, RunRecord]:
    runs = tmp_path_factory.mktemp("runs")
    seen: list[tuple[str, float]] = []
    a = run_detectors(
        store, runs_dir=runs, on_progress=lambda s, done, total=None: seen.append((s, fraction(done, total)))
    )
    b = run_detectors(store, runs_dir=runs)
    assert seen[0] == ("projection", 0.0) and seen[-1] == ("done", 1.0)
    assert [f for _, f in seen] == sorted(f for _, f in seen)
    return a, b


def _results(rec: RunRecord) -> dict[str, Any]:
    return json.loads((Path(rec.run_dir) / "results.json").read_bytes())


def test_run_folder_and_record(two_runs: tuple[RunRecord, RunRecord], store: GraphStore) -> None:
    rec = two_runs[0]
    folder = Path(rec.run_dir)
    raw = (folder / "results.json").read_bytes()
    assert rec.results_sha256 == hashlib.sha256(raw).hexdigest()
    on_disk = json.loads((folder / "run.json").read_text())
    assert on_disk["run_id"] == rec.run_id and on_disk["results_sha256"] == rec.results_sha256
    assert [d["name"] for d in on_disk["detectors"]] == ["clusters", "pathways", "bridges", "grooming"]
    assert {"numpy", "scipy", "igraph", "pyarrow", "python"} <= set(on_disk["library_versions"])
    assert on_disk["params"] == resolve_params(None)
    assert on_disk["counts"]["pathways"] == len(_results(rec)["pathways"])
    assert store.get_results(rec.run_id) == raw
    assert store.get_run(rec.run_id)["results_sha256"] == rec.results_sha256
    res = json.loads(raw)
    assert res["run_id"] == rec.run_id and res["snapshot_digest"] == rec.snapshot_digest
    assert {"clusters", "pathways", "flagged_accounts", "exposure"} <= set(res)
    assert res["clusters"] and res["pathways"] and res["flagged_accounts"]


def test_two_runs_byte_identical(two_runs: tuple[RunRecord, RunRecord]) -> None:
    a, b = two_runs
    assert a.run_id != b.run_id
    ra, rb = (Path(r.run_dir, "results.json").read_bytes() for r in (a, b))
    assert ra.replace(a.run_id.encode(), b"RUN") == rb.replace(b.run_id.encode(), b"RUN")
    ja, jb = json.loads(ra), json.loads(rb)
    for key in ("clusters", "pathways", "flagged_accounts"):
        assert json.dumps(ja[key]).encode() == json.dumps(jb[key]).encode()


def test_pathways_are_real_walks_in_the_store(two_runs: tuple[RunRecord, RunRecord], store: GraphStore) -> None:
    stored = {
        (r["src_kind"], r["src_id"], r["type"], r["dst_kind"], r["dst_id"])
        for r in store.edge_table().select(["src_kind", "src_id", "type", "dst_kind", "dst_id"]).to_pylist()
    }
    res = _results(two_runs[0])
    clusters = {c["cluster_id"]: c for c in res["clusters"]}
    for pw in res["pathways"]:
        assert len(pw["nodes"]) == len(pw["edges"]) + 1 <= 7
        assert pw["source"]["id"] == pw["nodes"][0]["id"]
        for a, b, rel, d in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], pw["directions"]):
            s, t = (a, b) if d == "forward" else (b, a)
            assert (s["kind"], s["id"], rel, t["kind"], t["id"]) in stored
        last = pw["nodes"][-1]
        c = clusters[pw["cluster_id"]]
        owned = {"account": c["accounts"], "content": c["content"], "url": c["urls"], "hashtag": c["hashtags"]}
        assert last["id"] in owned[last["kind"]]


def test_frozen_projection_reproduces_results(two_runs: tuple[RunRecord, RunRecord]) -> None:
    rec = two_runs[0]
    proj = Projection.from_parquet(Path(rec.run_dir) / "projection")
    assert proj.digest == rec.snapshot_digest
    sections = run_projection(proj, rec.params)[0].model_dump(mode="json")
    res = _results(rec)
    for key in ("clusters", "pathways", "flagged_accounts"):
        assert json.dumps(sections[key]) == json.dumps(res[key])


def test_bad_params_fail_before_running(store: GraphStore, tmp_path: Path) -> None:
    with pytest.raises(DetectorError):
        run_detectors(store, params={"pathways": {"max_hops": -1}}, runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_time_window_changes_digest(store: GraphStore, tmp_path: Path) -> None:
    rec = run_detectors(
        store, params={"projection": {"since": "2025-06-01T00:00:00Z"}}, runs_dir=tmp_path, freeze_projection=False
    )
    full = run_detectors(store, runs_dir=tmp_path, freeze_projection=False)
    assert rec.snapshot_digest != full.snapshot_digest
    assert rec.counts["edges"] < full.counts["edges"]


def test_cli_run_prints_summary(snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also issue 11, item 10: the ingest report and quarantine go under the state folder (the
    snapshot may sit on read-only evidence media), and the command says where."""
    monkeypatch.setenv("CRUMBGRAPH_STATE_DIR", str(tmp_path / "state"))
    beside = sorted(p.name for p in snapshot.parent.iterdir())
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        build_app(),
        [
            "run",
            str(snapshot),
            "--store",
            f"embedded:{tmp_path / 'c.duckdb'}",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bridges" in result.output and " → " in result.output
    res = json.loads(out.read_text())
    assert res["pathways"]
    assert len(list((tmp_path / "runs").iterdir())) == 1
    assert sorted(p.name for p in snapshot.parent.iterdir()) == beside  # nothing written beside the snapshot
    (ingest_dir,) = (tmp_path / "state" / "ingests").iterdir()
    assert {p.name for p in ingest_dir.iterdir()} == {"ingest-report.json", "quarantine.jsonl"}
    assert ingest_dir.stat().st_mode & 0o777 == 0o700
    assert f"reportandquarantine:{ingest_dir}" in "".join(result.output.split())  # (rich may wrap it)


def _prefixed(prefix: str) -> tuple[dict, Any]:
    """The hand-built toy graph with every id prefixed (so it cannot collide in a shared Neo4j)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tests.unit.test_detectors import toy_graph

    tables, edges = toy_graph().tables()

    def pre(t: pa.Table, cols: tuple[str, ...]) -> pa.Table:
        for c in cols:
            if c in t.column_names:
                i = t.schema.get_field_index(c)
                t = t.set_column(i, c, pc.binary_join_element_wise(pa.scalar(prefix), t.column(c), ""))
        return t

    keys = ("account_id", "content_id", "parent_id", "url", "tag")
    return {k: pre(t, keys) for k, t in tables.items()}, pre(edges, ("src_id", "dst_id"))


@pytest.mark.neo4j
def test_neo4j_and_embedded_give_the_same_projection(neo4j_config: StoreConfig, tmp_path: Path) -> None:
    import uuid

    import pyarrow.compute as pc
    from neo4j import GraphDatabase

    from graph.model import NodeKind
    from graph.projection import build_projection, project

    prefix = f"t4-{uuid.uuid4().hex[:8]}-"
    tables, edges = _prefixed(prefix)
    with open_store(StoreConfig(url=f"embedded:{tmp_path / 'e.duckdb'}")) as emb:
        emb.ensure_schema()
        for kind, t in tables.items():
            emb.upsert_nodes(kind, t)
        emb.upsert_edges(edges)
        expected = project(emb)
    try:
        with open_store(neo4j_config) as neo:
            neo.ensure_schema()
            for kind, t in tables.items():
                neo.upsert_nodes(kind, t)
            neo.upsert_edges(edges)
            ours = {k: neo.node_table(k) for k in tables}
            ours = {k: t.filter(pc.starts_with(t.column(k.key), prefix)) for k, t in ours.items()}
            e = neo.edge_table()
            e = e.filter(
                pc.and_(pc.starts_with(e.column("src_id"), prefix), pc.starts_with(e.column("dst_id"), prefix))
            )
            got = build_projection(ours, e)
    finally:
        with GraphDatabase.driver(neo4j_config.url, auth=(neo4j_config.neo4j_user, neo4j_config.neo4j_password)) as d:
            for kind in NodeKind:
                d.execute_query(
                    f"MATCH (n:{kind.label}) WHERE n.{kind.key} STARTS WITH $p DETACH DELETE n",
                    p=prefix,
                    database_=neo4j_config.neo4j_database,
                )
    assert got.n_edges == expected.n_edges > 0
    assert got.digest == expected.digest

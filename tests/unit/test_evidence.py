"""Evidence packages over a hand-made run: subgraph selection and limits, every export format,
signed manifests and `verify` naming each tampered, added or removed file (synthetic data)."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from detectors.evidence import Limits, Selection, build_package, read_run, select_subgraph, verify_package
from detectors.exporters import EXPORTERS, get_exporters
from detectors.runner import canonical_json
from detectors.signing import (
    PRIVATE_KEY_FILE,
    PublicKey,
    SigningKey,
    init_keys,
    load_public_key,
    load_signing_key,
)
from graph.errors import ConfigError, NotFound
from graph.model import ACCOUNT_SCHEMA, CONTENT_SCHEMA, EDGE_SCHEMA, HASHTAG_SCHEMA, URL_SCHEMA, NodeKind
from graph.projection import build_projection

T0 = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://ex.test/x"


def _edge(sk: str, s: str, t: str, dk: str, d: str) -> dict:
    return {
        "src_kind": sk,
        "src_id": s,
        "type": t,
        "kind": t.lower(),
        "dst_kind": dk,
        "dst_id": d,
        "created_at": T0,
        "props": None,
    }


def make_run(runs_dir: Path, run_id: str = "run-test-1") -> Path:
    """A run folder (run.json, results.json, frozen projection) over a tiny synthetic graph:
    c3 (a comment by a2) replies to child-oriented c1 and shares hashtag t1 with abusive c2 of
    cluster k1 = {a3, a4, c2}; a5 follows a4 and a6 follows a5 (context one and two hops out)."""
    accounts = pa.Table.from_pylist(
        [
            {"account_id": a, "created_at": T0, "age_band": b, "status": "active", "props": None, "bare": False}
            for a, b in [
                ("a1", "adult"),
                ("a2", "adult"),
                ("a3", "adult"),
                ("a4", "unknown"),
                ("a5", "minor"),
                ("a6", "adult"),
                ("a7", "adult"),
            ]
        ],
        schema=ACCOUNT_SCHEMA,
    )
    content = pa.Table.from_pylist(
        [
            {
                "content_id": "c1",
                "account_id": "a1",
                "created_at": T0,
                "kind": "video",
                "parent_id": None,
                "label": "child_oriented",
                "label_source": "classifier:v3",
                "label_confidence": 0.9,
                "props": None,
                "bare": False,
            },
            {
                "content_id": "c2",
                "account_id": "a3",
                "created_at": T0,
                "kind": "post",
                "parent_id": None,
                "label": "abusive",
                "label_source": "hashlist:test",
                "label_confidence": 1.0,
                "props": None,
                "bare": False,
            },
            {
                "content_id": "c3",
                "account_id": "a2",
                "created_at": T0,
                "kind": "comment",
                "parent_id": "c1",
                "label": "none",
                "label_source": None,
                "label_confidence": None,
                "props": None,
                "bare": False,
            },
        ],
        schema=CONTENT_SCHEMA,
    )
    urls = pa.Table.from_pylist([{"url": URL, "domain": "ex.test"}], schema=URL_SCHEMA)
    tags = pa.Table.from_pylist([{"tag": "t1"}], schema=HASHTAG_SCHEMA)
    edges = pa.Table.from_pylist(
        [
            _edge("account", "a1", "POSTED", "content", "c1"),
            _edge("account", "a2", "POSTED", "content", "c3"),
            _edge("account", "a3", "POSTED", "content", "c2"),
            _edge("content", "c3", "REPLY_TO", "content", "c1"),
            _edge("content", "c3", "TAGGED", "hashtag", "t1"),
            _edge("content", "c2", "TAGGED", "hashtag", "t1"),
            _edge("content", "c1", "LINKS_TO", "url", URL),
            _edge("account", "a4", "FOLLOWS", "account", "a3"),
            _edge("account", "a5", "FOLLOWS", "account", "a4"),
            _edge("account", "a6", "FOLLOWS", "account", "a5"),
        ],
        schema=EDGE_SCHEMA,
    )
    proj = build_projection(
        {NodeKind.ACCOUNT: accounts, NodeKind.CONTENT: content, NodeKind.URL: urls, NodeKind.HASHTAG: tags}, edges
    )
    run_dir = runs_dir / run_id
    proj.to_parquet(run_dir / "projection")
    results = {
        "run_id": run_id,
        "results_format": 1,
        "snapshot_digest": proj.digest,
        "detectors": [{"name": "clusters", "version": "1.0.0"}],
        "params": {},
        "clusters": [{"cluster_id": "k1", "accounts": ["a3", "a4"], "content": ["c2"], "score": 0.9}],
        "pathways": [
            {
                "pathway_id": "p1",
                "source": {"kind": "content", "id": "c1"},
                "cluster_id": "k1",
                "nodes": [
                    {"kind": "content", "id": "c1"},
                    {"kind": "content", "id": "c3"},
                    {"kind": "hashtag", "id": "t1"},
                    {"kind": "content", "id": "c2"},
                ],
                "edges": ["REPLY_TO", "TAGGED", "TAGGED"],
                "score": 0.5,
            }
        ],
        "flagged_accounts": [
            {"account_id": "a2", "score": 0.7, "role": "bridge", "pathways": ["p1"]},
            {"account_id": "a3", "score": 0.6, "role": "cluster_member", "pathways": []},
        ],
        "exposure": [],
    }
    body = canonical_json(results)
    (run_dir / "results.json").write_bytes(body)
    record = {
        "run_id": run_id,
        "snapshot_digest": proj.digest,
        "started_at": T0.isoformat(),
        "finished_at": T0.isoformat(),
        "detectors": results["detectors"],
        "params": {},
        "library_versions": {},
        "counts": {},
        "results_sha256": hashlib.sha256(body).hexdigest(),
    }
    (run_dir / "run.json").write_bytes(canonical_json(record))
    return run_dir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def package(run_dir: Path, key: SigningKey, tmp_path: Path) -> Path:
    build_package(run_dir, tmp_path / "pkg", Selection(pathways=("p1",)), key, exported_by="tester", now=T0)
    return tmp_path / "pkg"


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


# -- packages and formats --------------------------------------------------------------------
def test_package_holds_every_format_and_verifies(package: Path, key: SigningKey) -> None:
    names = {p.name for p in package.iterdir()}
    assert names == {
        "subgraph.json",
        "subgraph.graphml",
        "nodes.csv",
        "edges.csv",
        "case.jsonld",
        "manifest.json",
        "manifest.sig",
    }
    m = json.loads((package / "manifest.json").read_text())
    assert set(m["files"]) == names - {"manifest.json", "manifest.sig"}
    assert (m["run_id"], m["exported_by"], m["exported_at"]) == ("run-test-1", "tester", T0.isoformat())
    assert m["signer"]["key_id"] == key.public.key_id
    v = verify_package(package, key.public)
    assert v.ok and v.trusted_key, v.problems


def test_same_selection_gives_byte_identical_files(run_dir: Path, key: SigningKey, tmp_path: Path) -> None:
    for d in ("x", "y"):
        build_package(run_dir, tmp_path / d, Selection(clusters=("k1",)), key, now=T0)
    for name in ("subgraph.json", "subgraph.graphml", "nodes.csv", "edges.csv", "case.jsonld"):
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes(), name


def test_every_changed_byte_of_every_file_is_named(package: Path, key: SigningKey, tmp_path: Path) -> None:
    files = sorted(p.name for p in package.iterdir())
    for name in files:
        size = (package / name).stat().st_size
        for pos in sorted({0, size // 2, size - 1}):
            copy = tmp_path / f"t-{name}-{pos}"
            shutil.copytree(package, copy)
            data = bytearray((copy / name).read_bytes())
            data[pos] ^= 0x01
            (copy / name).write_bytes(bytes(data))
            v = verify_package(copy, key.public)
            assert not v.ok, (name, pos)
            assert any(name in p for p in v.problems), (name, pos, v.problems)
            if name not in ("manifest.json", "manifest.sig"):
                assert v.problems == [f"{name}: changed (sha256 differs from the manifest)"]


def test_removed_and_added_files_are_named(package: Path, key: SigningKey) -> None:
    (package / "edges.csv").unlink()
    (package / "extra.txt").write_text("not part of the package\n")
    v = verify_package(package, key.public)
    assert v.problems == ["edges.csv: removed", "extra.txt: added (not in the manifest)"]
    (package / "manifest.sig").unlink()
    assert "manifest.sig: removed" in verify_package(package, key.public).problems[0]


def test_another_key_fails(package: Path, key: SigningKey, run_dir: Path, tmp_path: Path) -> None:
    other = SigningKey.generate()
    v = verify_package(package, other.public)
    assert not v.ok and v.problems[0].startswith("signature: not made by the trusted key " + other.public.key_id)
    # a package made and signed with another key (naming that key) fails against the trusted one
    build_package(run_dir, tmp_path / "forged", Selection(pathways=("p1",)), other)
    v = verify_package(tmp_path / "forged", key.public)
    assert [p for p in v.problems if p.startswith("signature:")] and not v.ok
    assert verify_package(tmp_path / "forged").ok  # only self-consistent: hence the trusted key
    # a re-signed manifest with a substituted file hash still fails against the trusted key
    m = json.loads((package / "manifest.json").read_text())
    (package / "nodes.csv").write_text("kind,id\n")
    m["files"]["nodes.csv"]["sha256"] = hashlib.sha256(b"kind,id\n").hexdigest()
    body = json.dumps(m).encode()
    (package / "manifest.json").write_bytes(body)
    (package / "manifest.sig").write_text(base64.b64encode(other.sign(body)).decode() + "\n")
    v = verify_package(package, key.public)
    assert not v.ok and v.problems[0].startswith("signature:")


def test_graphml_loads_in_igraph_and_networkx_with_the_json_counts(package: Path) -> None:
    import igraph
    import networkx as nx

    sg = json.loads((package / "subgraph.json").read_text())
    g = igraph.Graph.Read_GraphML(str(package / "subgraph.graphml"))
    assert (g.vcount(), g.ecount()) == (len(sg["nodes"]), len(sg["edges"])) == (8, 7)
    assert g.is_directed()
    assert sorted(g.vs["node_id"]) == sorted(n["id"] for n in sg["nodes"])
    assert sorted(g.es["type"]) == sorted(e["type"] for e in sg["edges"])
    h = nx.read_graphml(package / "subgraph.graphml")
    assert (h.number_of_nodes(), h.number_of_edges()) == (len(sg["nodes"]), len(sg["edges"]))
    assert {(u, v) for u, v in h.edges()} == {(e["src"], e["dst"]) for e in sg["edges"]}
    assert h.nodes["content:c1"]["label_confidence"] == pytest.approx(0.9)


def test_csv_tables_match_the_json(package: Path) -> None:
    sg = json.loads((package / "subgraph.json").read_text())
    with (package / "nodes.csv").open(newline="") as fh:
        nodes = list(csv.DictReader(fh))
    with (package / "edges.csv").open(newline="") as fh:
        edges = list(csv.DictReader(fh))
    assert {(r["kind"], r["id"]) for r in nodes} == {(n["kind"], n["id"]) for n in sg["nodes"]}
    assert {(r["src_kind"], r["src_id"], r["type"], r["dst_kind"], r["dst_id"]) for r in edges} == {
        (*e["src"].split(":", 1), e["type"], *e["dst"].split(":", 1)) for e in sg["edges"]
    }


def test_case_jsonld_passes_case_validate(package: Path) -> None:
    doc = json.loads((package / "case.jsonld").read_text())
    types = [o["@type"] for o in doc["@graph"]]
    assert types.count("observable:DigitalAccount") == 3  # a1, a2, a3
    assert types.count("observable:ObservableRelationship") == 7
    assert types.count("case-investigation:InvestigativeAction") == 1
    exe = Path(sys.executable).parent / "case_validate"
    # offline: the ontology ships with case-utils; no proxy or network is used
    env = {**os.environ, "NO_PROXY": "*", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([str(exe), str(package / "case.jsonld")], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and "Conforms: True" in out.stdout, out.stdout + out.stderr


def test_exporter_registry_is_explicit_and_unique() -> None:
    names = [e.name for e in EXPORTERS]
    assert names == ["json", "graphml", "csv", "case"]
    with pytest.raises(ConfigError, match="pdf"):
        get_exporters(["pdf"])


def test_a_package_without_subgraph_json_is_refused(run_dir: Path, key: SigningKey, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="subgraph.json"):
        build_package(run_dir, tmp_path / "p", Selection(pathways=("p1",)), key, formats=["csv"])
    build_package(run_dir, tmp_path / "q", Selection(pathways=("p1",)), key, formats=["json", "csv"])
    with pytest.raises(ConfigError, match="not empty"):
        build_package(run_dir, tmp_path / "q", Selection(pathways=("p1",)), key)


# -- keys ------------------------------------------------------------------------------------
def test_keys_init_writes_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    pub = init_keys(tmp_path / "keys")
    priv = tmp_path / "keys" / PRIVATE_KEY_FILE
    assert priv.stat().st_mode & 0o777 == 0o600
    assert load_public_key(tmp_path / "keys") == pub == load_signing_key(tmp_path / "keys").public
    assert PublicKey.from_text(pub.b64) == pub
    with pytest.raises(ConfigError, match="refusing"):
        init_keys(tmp_path / "keys")
    os.chmod(priv, 0o644)
    with pytest.raises(ConfigError, match="too open"):
        load_signing_key(tmp_path / "keys")
    assert init_keys(tmp_path / "keys", force=True) != pub


def test_bad_public_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        PublicKey.from_text("not base64!")
    with pytest.raises(ConfigError, match="32 bytes"):
        PublicKey.from_text(base64.b64encode(b"short").decode())


def test_graphml_and_csv_survive_awkward_ids(tmp_path: Path) -> None:
    import networkx as nx

    from detectors.exporters.csv_exporter import CsvExporter
    from detectors.exporters.graphml import GraphMLExporter

    ids = ['ünï-ç,"q"', "ctl\x01x", "<&>", "=1+1"]
    sg = {
        "run_id": "r",
        "nodes": [{"key": f"account:{i}", "kind": "account", "id": i} for i in ids],
        "edges": [
            {
                "src": f"account:{ids[0]}",
                "dst": f"account:{ids[1]}",
                "type": "FOLLOWS",
                "created_at": None,
                "on_pathway": False,
            }
        ],
    }
    GraphMLExporter().write(sg, tmp_path)
    CsvExporter().write(sg, tmp_path)
    g = nx.read_graphml(tmp_path / "subgraph.graphml")
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 1
    assert {d["node_id"] for _, d in g.nodes(data=True)} == {ids[0], "ctl\ufffdx", "<&>", "=1+1"}
    with (tmp_path / "nodes.csv").open(newline="", encoding="utf-8") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ids  # CSV keeps every id exactly


def test_a_run_id_is_never_read_as_a_path(run_dir: Path) -> None:
    from detectors.evidence import resolve_run_dir

    runs_dir = run_dir.parent
    assert resolve_run_dir("run-test-1", runs_dir) == run_dir
    assert resolve_run_dir(run_dir) == run_dir  # a Path: the folder itself
    for bad in (str(run_dir), "../runs/run-test-1", "..", "run-test-1/../run-test-1", "nope"):
        with pytest.raises(NotFound):
            resolve_run_dir(bad, runs_dir)

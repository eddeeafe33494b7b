"""The exporters: GraphML, CSV and CASE/UCO read back by the tools they are for, the explicit
registry of formats, and ids that XML or CSV find awkward (synthetic data)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.exporters import EXPORTERS, get_exporters
from graph.errors import ConfigError


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
    out = _case_validate(package / "case.jsonld")
    assert out.returncode == 0 and "Conforms: True" in out.stdout, out.stdout + out.stderr


def _case_validate(path: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "case_validate"
    # offline: the ontology ships with case-utils; no proxy or network is used
    env = {**os.environ, "NO_PROXY": "*", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    return subprocess.run([str(exe), str(path)], capture_output=True, text=True, env=env, timeout=300)


def test_exporter_registry_is_explicit_and_unique() -> None:
    names = [e.name for e in EXPORTERS]
    assert names == ["json", "graphml", "csv", "case"]
    with pytest.raises(ConfigError, match="pdf"):
        get_exporters(["pdf"])


def _awkward_subgraph(ids: list[str]) -> dict:
    return {
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


def test_graphml_and_csv_survive_awkward_ids(tmp_path: Path) -> None:
    import urllib.parse

    import igraph
    import networkx as nx

    from evidence.exporters.csv_exporter import CsvExporter
    from evidence.exporters.graphml import GraphMLExporter

    # control characters XML cannot hold must not merge two nodes (issue 11, item 10)
    ids = ['ünï-ç,"q"', "ctl\x01id", "ctl\x0bid", "ctl%01id", "<&>", "=1+1", "tab\tnl\ncr\r"]
    sg = _awkward_subgraph(ids)
    GraphMLExporter().write(sg, tmp_path)
    CsvExporter().write(sg, tmp_path)
    with (tmp_path / "nodes.csv").open(newline="", encoding="utf-8") as fh:
        csv_ids = [r["id"] for r in csv.DictReader(fh)]
    g = nx.read_graphml(tmp_path / "subgraph.graphml")
    assert g.number_of_nodes() == len(csv_ids) == len(ids) and g.number_of_edges() == 1
    assert {urllib.parse.unquote(n) for n in g.nodes} == {f"account:{i}" for i in ids}  # lossless ids
    assert igraph.Graph.Read_GraphML(str(tmp_path / "subgraph.graphml")).vcount() == len(ids)
    # the attribute value stays readable: what XML cannot hold shows as U+FFFD
    assert {d["node_id"] for _, d in g.nodes(data=True)} >= {ids[0], "ctl\ufffdid", "<&>", "=1+1"}
    assert csv_ids == [i if i != "=1+1" else "'=1+1" for i in ids]  # CSV: exact, but for the formula


def test_csv_cells_that_start_a_formula_are_escaped_and_counted(tmp_path: Path) -> None:
    import networkx as nx

    from evidence.exporters.csv_exporter import CsvExporter
    from evidence.exporters.graphml import GraphMLExporter
    from evidence.exporters.json_exporter import JsonExporter

    bad = ['=HYPERLINK("http://x.test")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    ok = ["a=1", "'quoted", " =space", "x"]
    sg = _awkward_subgraph(bad + ok)
    exp = CsvExporter()
    exp.write(sg, tmp_path)
    with (tmp_path / "nodes.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["'" + b for b in bad] + ok
    assert {r["key"] for r in rows} == {f"account:{i}" for i in bad + ok}  # "account:" shields the key
    with (tmp_path / "edges.csv").open(newline="", encoding="utf-8") as fh:
        (edge,) = list(csv.DictReader(fh))
    assert (edge["src_id"], edge["dst_id"]) == ("'" + bad[0], "'" + bad[1])
    notes = exp.manifest_notes(sg)["cell_escaping"]
    assert notes["escaped_cells"] == len(bad) + 2 and "OWASP" in notes["rule"]
    # JSON and GraphML keep the raw value
    JsonExporter().write(sg, tmp_path)
    GraphMLExporter().write(sg, tmp_path)
    assert [n["id"] for n in json.loads((tmp_path / "subgraph.json").read_text())["nodes"]] == bad + ok
    graph = nx.read_graphml(tmp_path / "subgraph.graphml")
    values = {d["node_id"] for _, d in graph.nodes(data=True)}
    assert values >= set(bad[:-1] + ok)  # (XML reads a bare CR in text back as LF)


def test_case_validate_rejects_a_broken_case_jsonld(package: Path, tmp_path: Path) -> None:
    """The CASE check is not vacuous: the same validator fails a package's case.jsonld once broken."""
    doc = json.loads((package / "case.jsonld").read_text())
    account = next(o for o in doc["@graph"] if o["@type"] == "observable:DigitalAccount")
    account["@type"] = "observable:NoSuchClass"
    broken = tmp_path / "broken.jsonld"
    broken.write_text(json.dumps(doc))
    out = _case_validate(broken)
    assert out.returncode != 0 and "Conforms: False" in out.stdout, out.stdout + out.stderr

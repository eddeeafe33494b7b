"""`subgraph.graphml`: GraphML for Gephi, Cytoscape, igraph and networkx (typed keys, directed)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evidence.exporters.base import EDGE_FIELDS, NODE_FIELDS, Exporter

NS = "http://graphml.graphdrawing.org/xmlns"
#: GraphML attr.type of each attribute (anything not listed is a string)
#: attribute names readers reserve: igraph keeps the GraphML node id as vertex attribute "id"
RENAME = {"id": "node_id"}
TYPES = {"hop": "int", "label_confidence": "double", "flag_score": "double", "on_pathway": "boolean"}


#: characters XML 1.0 cannot hold at all (not even escaped); ingest accepts any string as an id
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: what `graphml_id` percent-encodes: `%` and every character XML 1.0 cannot hold
_ID_ESCAPE = re.compile("[%]|" + _NOT_XML.pattern)


def graphml_id(key: str) -> str:
    """A node key as a GraphML id, losslessly: every character XML cannot hold, and `%` itself,
    becomes `%XX` per UTF-8 byte (percent-encoding), so distinct keys stay distinct ids and
    `urllib.parse.unquote` gives the key back. Keys without such characters are unchanged."""
    return _ID_ESCAPE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), key)


def _text(value: Any) -> str:
    """Attribute text; characters XML cannot hold become U+FFFD (subgraph.json keeps the exact value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(_text(v) for v in value)
    return _NOT_XML.sub("\ufffd", str(value))


class GraphMLExporter(Exporter):
    name = "graphml"
    filenames = ("subgraph.graphml",)
    description = "GraphML (Gephi, Cytoscape, igraph, networkx)"

    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        root = ET.Element("graphml", {"xmlns": NS})
        node_attrs = [f for f in NODE_FIELDS if f != "key"]  # the key is the node's GraphML id
        edge_attrs = [f for f in EDGE_FIELDS if f not in ("src", "dst")]
        for domain, attrs, prefix in (("node", node_attrs, "n_"), ("edge", edge_attrs, "e_")):
            for a in attrs:
                ET.SubElement(
                    root,
                    "key",
                    {
                        "id": prefix + a,
                        "for": domain,
                        "attr.name": RENAME.get(a, a),
                        "attr.type": TYPES.get(a, "string"),
                    },
                )
        graph = ET.SubElement(root, "graph", {"id": subgraph.get("run_id") or "subgraph", "edgedefault": "directed"})
        for n in subgraph["nodes"]:
            el = ET.SubElement(graph, "node", {"id": graphml_id(n["key"])})
            for a in node_attrs:
                if n.get(a) is not None:
                    ET.SubElement(el, "data", {"key": "n_" + a}).text = _text(n[a])
        for i, e in enumerate(subgraph["edges"]):
            el = ET.SubElement(
                graph, "edge", {"id": f"e{i}", "source": graphml_id(e["src"]), "target": graphml_id(e["dst"])}
            )
            for a in edge_attrs:
                if e.get(a) is not None:
                    ET.SubElement(el, "data", {"key": "e_" + a}).text = _text(e[a])
        ET.indent(root)
        path = Path(dest) / self.filenames[0]
        ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
        with path.open("ab") as fh:
            fh.write(b"\n")
        return [path]

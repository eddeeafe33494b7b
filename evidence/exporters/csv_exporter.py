"""`nodes.csv` / `edges.csv`: an entity table and a link table, the tabular import of
link-analysis tools (i2 Analyst's Notebook, Maltego): one row per entity, one per link.

Spreadsheets run a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (CSV injection). Such text cells are escaped the OWASP way, with a leading `'`; the
manifest records the rule and how many cells it changed, and every other format keeps the
exact value."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evidence.exporters.base import EDGE_FIELDS, NODE_FIELDS, Exporter

#: the first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: the manifest's record of the escaping (CsvExporter.manifest_notes)
ESCAPING_RULE = "OWASP CSV injection: a text cell beginning with = + - @ TAB or CR is prefixed with '"


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


def needs_escape(value: Any) -> bool:
    """A text cell a spreadsheet would run as a formula (numbers we write ourselves never are)."""
    text = _text(value)
    return isinstance(text, str) and text.startswith(FORMULA_START)


def _cell(value: Any) -> Any:
    text = _text(value)
    return "'" + text if needs_escape(text) else text


class CsvExporter(Exporter):
    name = "csv"
    filenames = ("nodes.csv", "edges.csv")
    description = "entity and link tables (CSV, UTF-8, header row)"

    def manifest_notes(self, subgraph: dict[str, Any]) -> dict[str, Any]:
        """The escaping rule and how many cells of nodes.csv and edges.csv it changed."""
        return {"cell_escaping": {"rule": ESCAPING_RULE, "escaped_cells": _escaped_cells(subgraph)}}

    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        by_key = {n["key"]: n for n in subgraph["nodes"]}
        nodes_path, edges_path = Path(dest) / self.filenames[0], Path(dest) / self.filenames[1]
        with nodes_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\r\n")  # RFC 4180; makes the writer quote a bare CR too
            w.writerow(NODE_FIELDS)
            w.writerows([_cell(n.get(f)) for f in NODE_FIELDS] for n in subgraph["nodes"])
        with edges_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\r\n")  # RFC 4180; makes the writer quote a bare CR too
            w.writerow(LINK_FIELDS)
            w.writerows([_cell(v) for v in _link_row(e, by_key)] for e in subgraph["edges"])
        return [nodes_path, edges_path]


#: edges.csv's columns: link tools want both endpoints spelled out (kind and id), not only our key
LINK_FIELDS = ("src", "src_kind", "src_id", "dst", "dst_kind", "dst_id", "type", "created_at", "on_pathway")
assert set(EDGE_FIELDS) <= set(LINK_FIELDS)


def _link_row(e: dict[str, Any], by_key: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
    s, d = by_key[e["src"]], by_key[e["dst"]]
    return (e["src"], s["kind"], s["id"], e["dst"], d["kind"], d["id"], e["type"], e["created_at"], e["on_pathway"])


def _escaped_cells(subgraph: dict[str, Any]) -> int:
    """Cells of nodes.csv and edges.csv that `_cell` escapes."""
    by_key = {n["key"]: n for n in subgraph["nodes"]}
    node_cells = sum(needs_escape(n.get(f)) for n in subgraph["nodes"] for f in NODE_FIELDS)
    link_cells = sum(needs_escape(v) for e in subgraph["edges"] for v in _link_row(e, by_key))
    return node_cells + link_cells

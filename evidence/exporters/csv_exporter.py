"""`nodes.csv` / `edges.csv`: an entity table and a link table, the tabular import of
link-analysis tools (i2 Analyst's Notebook, Maltego): one row per entity, one per link."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evidence.exporters.base import EDGE_FIELDS, NODE_FIELDS, Exporter


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


class CsvExporter(Exporter):
    name = "csv"
    filenames = ("nodes.csv", "edges.csv")
    description = "entity and link tables (CSV, UTF-8, header row)"

    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        by_key = {n["key"]: n for n in subgraph["nodes"]}
        nodes_path, edges_path = Path(dest) / self.filenames[0], Path(dest) / self.filenames[1]
        with nodes_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(NODE_FIELDS)
            w.writerows([_cell(n.get(f)) for f in NODE_FIELDS] for n in subgraph["nodes"])
        # link tools want both endpoints spelled out (kind and id), not only our key
        fields = ("src", "src_kind", "src_id", "dst", "dst_kind", "dst_id", "type", "created_at", "on_pathway")
        assert set(EDGE_FIELDS) <= set(fields)
        with edges_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(fields)
            for e in subgraph["edges"]:
                s, d = by_key[e["src"]], by_key[e["dst"]]
                w.writerow(
                    [
                        _cell(v)
                        for v in (
                            e["src"],
                            s["kind"],
                            s["id"],
                            e["dst"],
                            d["kind"],
                            d["id"],
                            e["type"],
                            e["created_at"],
                            e["on_pathway"],
                        )
                    ]
                )
        return [nodes_path, edges_path]

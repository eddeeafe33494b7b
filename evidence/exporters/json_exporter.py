"""`subgraph.json`: crumbgraph's own complete format (everything the other formats derive from)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evidence.exporters.base import Exporter


class JsonExporter(Exporter):
    name = "json"
    filenames = ("subgraph.json",)
    description = "crumbgraph subgraph JSON (complete)"

    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        path = Path(dest) / self.filenames[0]
        path.write_bytes((json.dumps(subgraph, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode())
        return [path]

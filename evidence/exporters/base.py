"""The Exporter extension point: one file format of an evidence package, `write(subgraph, dest)`.

A `subgraph` is the dict built by `evidence.subgraph.select_subgraph` (the shape of
`subgraph.json`): `nodes` with a unique `key` ("kind:id"), `edges` between node keys, and
the selected `pathways`, `clusters` and `flagged_accounts` of the run.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

#: node attributes every exporter writes, in this order (None where a kind has no such attribute)
NODE_FIELDS: tuple[str, ...] = (
    "key",
    "kind",
    "id",
    "role",
    "hop",
    "age_band",
    "status",
    "label",
    "label_confidence",
    "content_kind",
    "domain",
    "flag_score",
    "flag_roles",
)
EDGE_FIELDS: tuple[str, ...] = ("src", "dst", "type", "created_at", "on_pathway")


class Exporter(abc.ABC):
    """One format. Subclasses set a stable `name` (the CLI/API value, never renamed), the
    `filenames` it writes inside the package directory, and implement `write`.

    `write` must be deterministic: the same subgraph gives byte-identical files (so that a
    package can be rebuilt and compared), and must not write anything but `filenames`."""

    name: ClassVar[str]
    filenames: ClassVar[tuple[str, ...]]
    description: ClassVar[str] = ""

    def manifest_notes(self, subgraph: dict[str, Any]) -> dict[str, Any]:
        """What the manifest records about this format beside its files (e.g. cells changed on
        the way out); deterministic in `subgraph`. None by default."""
        return {}

    @abc.abstractmethod
    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        """Write this format's files into the directory `dest`; return their paths."""

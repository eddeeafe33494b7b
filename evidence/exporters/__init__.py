"""Evidence-package exporters: the explicit registry of built-in formats (names unique, stable)."""

from __future__ import annotations

from evidence.exporters.base import Exporter
from evidence.exporters.case_uco import CaseUcoExporter
from evidence.exporters.csv_exporter import CsvExporter
from evidence.exporters.graphml import GraphMLExporter
from evidence.exporters.json_exporter import JsonExporter
from evidence.manifest import MANIFEST, SIGNATURE
from graph.errors import ConfigError

EXPORTERS: tuple[Exporter, ...] = (JsonExporter(), GraphMLExporter(), CsvExporter(), CaseUcoExporter())


def _check(exporters: tuple[Exporter, ...]) -> None:
    names = [e.name for e in exporters]
    assert len(names) == len(set(names)), f"duplicate exporter names: {names}"
    files = [f for e in exporters for f in e.filenames]
    assert len(files) == len(set(files)), f"two exporters write the same file: {files}"
    assert not {MANIFEST, SIGNATURE} & set(files), "manifest files are the package's own"


_check(EXPORTERS)


def exporter_names() -> list[str]:
    return [e.name for e in EXPORTERS]


def get_exporters(names: list[str] | None = None) -> tuple[Exporter, ...]:
    """The exporters named (all, in registry order, when `names` is None); ConfigError for an unknown name."""
    if names is None:
        return EXPORTERS
    unknown = set(names) - set(exporter_names())
    if unknown:
        raise ConfigError(f"unknown export format(s) {sorted(unknown)}; expected some of {exporter_names()}")
    return tuple(e for e in EXPORTERS if e.name in names)


__all__ = ["EXPORTERS", "Exporter", "exporter_names", "get_exporters"]

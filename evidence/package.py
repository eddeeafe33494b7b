"""Building an evidence package: a run's selected subgraph written by every exporter into one
directory, with `manifest.json` (provenance and the sha256 of every file) and `manifest.sig`
(base64 Ed25519 signature over the exact bytes of manifest.json).

The subgraph comes from the run's frozen projection, i.e. exactly what the detectors saw.
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from detectors.runfolder import RunFolder, read_run
from evidence.exporters import Exporter, get_exporters
from evidence.manifest import MANIFEST, PACKAGE_FORMAT, PACKAGE_FORMAT_VERSION, SIGNATURE, file_table, manifest_bytes
from evidence.report import ReportContext, ReportRequest, write_report
from evidence.selection import Limits, Selection
from evidence.signing import ALGORITHM, SigningKey
from evidence.subgraph import select_subgraph
from graph.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class Package:
    path: Path
    manifest: dict[str, Any]


def _exporters_for(formats: list[str] | None) -> tuple[Exporter, ...]:
    """The exporters of `formats` (all when None); a package always holds subgraph.json."""
    exporters = get_exporters(formats)
    if not any(e.name == "json" for e in exporters):
        raise ConfigError("an evidence package always holds subgraph.json (format 'json')")
    return exporters


def _crumbgraph_version() -> str:
    try:
        return version("crumbgraph")
    except PackageNotFoundError:
        return "unknown"


def _provenance(record: dict[str, Any]) -> dict[str, Any]:
    """Where the subgraph came from (subgraph.json's `provenance`): the run's code and parameters."""
    return {
        "crumbgraph_version": _crumbgraph_version(),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "detectors": record.get("detectors", []),
        "params": record.get("params", {}),
        "results_sha256": record.get("results_sha256"),
    }


#: a package is for its owner only: the directory 0700 (made so before any file is written), files 0600
DIR_MODE, FILE_MODE = 0o700, 0o600


def _write_files(exporters: tuple[Exporter, ...], subgraph: dict[str, Any], dest: Path) -> list[Path]:
    """Every exporter's files in `dest` (created if need be, mode 0700), each made mode 0600."""
    dest.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(dest, DIR_MODE)
    written: list[Path] = []
    for exp in exporters:
        written.extend(exp.write(subgraph, dest))
    for path in written:
        os.chmod(path, FILE_MODE)
    return written


def _manifest(
    run: RunFolder,
    subgraph: dict[str, Any],
    exporters: tuple[Exporter, ...],
    files: list[Path],
    signer: SigningKey,
    *,
    exported_by: str,
    now: datetime,
    package_id: str,
) -> dict[str, Any]:
    """manifest.json: the run's provenance, what was selected within which limits, who exported
    it when, the signer, and the sha256 and size of every file."""
    rec = run.record
    return {
        "format": PACKAGE_FORMAT,
        "format_version": PACKAGE_FORMAT_VERSION,
        "package_id": package_id,
        "run_id": rec["run_id"],
        "snapshot_digest": rec["snapshot_digest"],
        "results_sha256": rec.get("results_sha256"),
        "detectors": rec.get("detectors", []),
        "params": rec.get("params", {}),
        "library_versions": rec.get("library_versions", {}),
        "selection": subgraph["selection"],
        "limits": subgraph["limits"],
        "counts": subgraph["counts"],
        "truncated": subgraph["truncated"],
        "exporters": [{"name": e.name, "files": list(e.filenames), **e.manifest_notes(subgraph)} for e in exporters],
        "exported_by": exported_by,
        "exported_at": now.isoformat(),
        "signer": {"algorithm": ALGORITHM, "key_id": signer.public.key_id, "public_key": signer.public.b64},
        "files": file_table(files),
    }


def _sign(dest: Path, manifest: dict[str, Any], signing_key: SigningKey) -> None:
    """Write manifest.json and its signature manifest.sig."""
    body = manifest_bytes(manifest)
    _write_private(dest / MANIFEST, body)
    _write_private(dest / SIGNATURE, (base64.b64encode(signing_key.sign(body)).decode() + "\n").encode())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)


def build_package(
    run: str | Path,
    dest: Path,
    selection: Selection,
    signing_key: SigningKey,
    *,
    limits: Limits | None = None,
    runs_dir: Path | None = None,
    exported_by: str = "unknown",
    formats: list[str] | None = None,
    now: datetime | None = None,
    report: ReportRequest | None = None,
) -> Package:
    """Write an evidence package of `selection` in run `run` (a run folder or a run id under
    `runs_dir`) into the new or empty directory `dest`, sign its manifest, and return it. With
    `report`, the package also holds the case report (report.html, report.pdf), listed and signed
    like every other file."""
    limits = limits or Limits()
    exporters = _exporters_for(formats)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest}: exists and is not empty; choose a new package directory")
    folder = read_run(run, runs_dir)
    subgraph = select_subgraph(folder.projection(), folder.results, selection, limits, _provenance(folder.record))
    files = _write_files(exporters, subgraph, dest)
    now, package_id = now or datetime.now(UTC), str(uuid.uuid4())
    report_note = None
    if report is not None:
        ctx = ReportContext(
            package_id, signing_key.public.key_id, signing_key.public.fingerprint, exported_by, now.isoformat()
        )
        report_files, report_note = write_report(subgraph, dest, report, ctx)
        for path in report_files:
            os.chmod(path, FILE_MODE)
        files += report_files
    manifest = _manifest(
        folder, subgraph, exporters, files, signing_key, exported_by=exported_by, now=now, package_id=package_id
    )
    if report_note is not None:
        manifest["report"] = report_note
    _sign(dest, manifest, signing_key)
    logger.info("evidence package %s of run %s in %s", manifest["package_id"], manifest["run_id"], dest)
    return Package(dest, manifest)

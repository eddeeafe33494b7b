"""The run folder `runs_dir/<run_id>/`: the run record (run.json), the results (results.json) and
the frozen input (projection/), written by the runner and read back — by rerun, evidence, the CLI
and benchmarks — only through this module."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from detectors.results import RESULTS_FORMAT
from graph.errors import ConfigError, DetectorError, NotFound
from graph.projection import Projection

logger = logging.getLogger(__name__)

RECORD_FILE = "run.json"
RESULTS_FILE = "results.json"
PROJECTION_DIR = "projection"
#: the run id that names the newest run with results
LATEST = "latest"
#: what a run id may look like (never a path: ids come from API callers)
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: record statuses of runs that have no results to read
_UNFINISHED = frozenset({"failed", "running"})


class RunRecord(BaseModel):
    """What run.json holds and `store.save_run` stores."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    snapshot_digest: str
    started_at: str
    finished_at: str
    detectors: list[dict[str, str]]
    params: dict[str, Any]
    library_versions: dict[str, str]
    counts: dict[str, int]
    timings: dict[str, float] = Field(default_factory=dict)
    results_sha256: str
    results_format: int = RESULTS_FORMAT
    run_dir: str | None = None


def canonical_json(obj: Any) -> bytes:
    """The one serialisation of results and run records: keys in insertion order (fixed by the
    code), no NaN, UTF-8, two-space indent, trailing newline."""
    return (json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """The digest run.json records of results.json (`results_sha256`)."""
    return hashlib.sha256(data).hexdigest()


# -- writing (the runner) ------------------------------------------------------------------------
def create_run_dir(runs_dir: Path, run_id: str) -> Path:
    """A new, empty folder for run `run_id`; FileExistsError if the run already has one."""
    run_dir = Path(runs_dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_dir


def write_projection(run_dir: Path, proj: Projection) -> None:
    """Keep the exact input of the run (with its digest) beside its results."""
    proj.to_parquet(Path(run_dir) / PROJECTION_DIR)


def write_results(run_dir: Path, results: bytes) -> None:
    (Path(run_dir) / RESULTS_FILE).write_bytes(results)


def write_record(run_dir: Path, record: RunRecord) -> dict[str, Any]:
    """Write run.json (written last: a folder with run.json is a complete run); return the record
    as the JSON-able dict that was written."""
    record_dict = record.model_dump(mode="json")
    (Path(run_dir) / RECORD_FILE).write_bytes(canonical_json(record_dict))
    return record_dict


# -- finding a run -------------------------------------------------------------------------------
def newest_run_id(records: Iterable[dict[str, Any]]) -> str | None:
    """The run id `latest` names among run records: the newest by `started_at` (records without
    one last; ties by run id) whose status is neither failed nor running. None if there is none."""
    ordered = sorted(records, key=lambda r: str(r.get("run_id")))
    ordered.sort(key=lambda r: (r.get("started_at") is not None, str(r.get("started_at") or "")), reverse=True)
    for record in ordered:
        rid = record.get("run_id")
        if rid and record.get("status", "succeeded") not in _UNFINISHED:
            return str(rid)
    return None


def _folder_records(runs_dir: Path) -> list[dict[str, Any]]:
    """run.json of every run folder under `runs_dir`, its run id taken from the folder's name."""
    out = []
    for record_path in sorted(Path(runs_dir).glob(f"*/{RECORD_FILE}")):
        if _RUN_ID.fullmatch(record_path.parent.name):
            out.append({**json.loads(record_path.read_text()), "run_id": record_path.parent.name})
    return out


def run_ref(value: str) -> str | Path:
    """A run named on the command line: a run folder when `value` contains a path separator or
    names a folder holding run.json, else a run id (or `latest`) to look up under the runs dir."""
    path = Path(value)
    return path if ("/" in value or (path / RECORD_FILE).exists()) else value


def resolve_run_dir(run: str | Path, runs_dir: Path | None = None) -> Path:
    """The folder of `run`: a `Path` is taken as the run folder itself (trusted callers: the CLI,
    tests); a `str` is a run id (or `latest`, the newest run) looked up under `runs_dir` and never
    read as a path. NotFound if there is no such run."""
    if isinstance(run, Path):
        if (run / RECORD_FILE).exists():
            return run
        raise NotFound(f"run folder {run}: no {RECORD_FILE}")
    if not _RUN_ID.fullmatch(run) or ".." in run:
        raise NotFound(f"run {run!r}: not a run id")
    if runs_dir is None:
        raise ConfigError(f"run {run!r}: no runs directory given to look it up in")
    if run == LATEST and not (Path(runs_dir) / run / RECORD_FILE).exists():
        newest = newest_run_id(_folder_records(runs_dir))
        if newest is None:
            raise NotFound(f"run {run!r}: there are no runs under {runs_dir} yet")
        run = newest
    path = Path(runs_dir) / run
    if not (path / RECORD_FILE).exists():
        raise NotFound(f"run {run!r}: no {RECORD_FILE} under {runs_dir}")
    return path


# -- reading (rerun, evidence) -------------------------------------------------------------------
@dataclass
class RunFolder:
    """A run folder read back: run.json, results.json (checked against run.json's sha256) and,
    on demand, the frozen projection."""

    run_dir: Path
    record: dict[str, Any]
    results: dict[str, Any]
    results_bytes: bytes

    def projection(self) -> Projection:
        """The frozen input, checked against its own digest and the run's snapshot digest.
        NotFound if the run kept none; DetectorError if it was changed."""
        folder = self.run_dir / PROJECTION_DIR
        if not (folder / "projection.json").exists() and (self.run_dir / "projection.json").exists():
            folder = self.run_dir  # a flat run folder (projection files beside results.json)
        if not (folder / "projection.json").exists():
            raise NotFound(f"run {self.record.get('run_id')}: no frozen projection in {folder}")
        proj = Projection.from_parquet(folder)  # checks the projection against its own digest
        if proj.digest != self.record.get("snapshot_digest"):
            raise DetectorError(
                f"{folder}: projection digest {proj.digest} is not the run's snapshot digest "
                f"{self.record.get('snapshot_digest')}"
            )
        return proj


def results_path(run_dir: Path | str) -> Path:
    """Where a run folder keeps results.json."""
    return Path(run_dir) / RESULTS_FILE


def read_results(run_dir: Path | str) -> dict[str, Any]:
    """results.json of a run folder, parsed (no check against run.json: see `read_run`)."""
    parsed: dict[str, Any] = json.loads(results_path(run_dir).read_bytes())
    return parsed


def read_run(run: str | Path, runs_dir: Path | None = None) -> RunFolder:
    """Run `run` (a folder, or a run id or `latest` under `runs_dir`): its record and results.
    NotFound if there is no such run; DetectorError if results.json is not what run.json recorded."""
    run_dir = resolve_run_dir(run, runs_dir)
    results_bytes = results_path(run_dir).read_bytes()
    record = json.loads((run_dir / RECORD_FILE).read_text())
    if sha256_hex(results_bytes) != record.get("results_sha256"):
        raise DetectorError(f"{results_path(run_dir)}: sha256 differs from results_sha256 in {RECORD_FILE}")
    logger.debug("read run %s from %s", record.get("run_id"), run_dir)
    return RunFolder(run_dir, record, json.loads(results_bytes), results_bytes)

"""The run folder: finding a run by id (never as a path) or `latest`, and reading it back with
its results and frozen projection checked (hand-made runs, synthetic)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from detectors.runfolder import (
    LATEST,
    RunRecord,
    canonical_json,
    newest_run_id,
    read_results,
    read_run,
    resolve_run_dir,
    run_ref,
    write_record,
)
from graph.errors import ConfigError, DetectorError, NotFound
from tests.evidence_support import make_run


def _restart(run_dir: Path, started_at: str) -> None:
    """Give a hand-made run another start time (run.json only: results.json is unchanged)."""
    record = json.loads((run_dir / "run.json").read_text())
    record["started_at"] = started_at
    (run_dir / "run.json").write_bytes(canonical_json(record))


def test_a_run_id_is_never_read_as_a_path(run_dir: Path) -> None:
    runs_dir = run_dir.parent
    assert resolve_run_dir("run-test-1", runs_dir) == run_dir
    assert resolve_run_dir(run_dir) == run_dir  # a Path: the folder itself
    for bad in (str(run_dir), "../runs/run-test-1", "..", "run-test-1/../run-test-1", "nope"):
        with pytest.raises(NotFound):
            resolve_run_dir(bad, runs_dir)


def test_a_command_line_run_is_a_folder_only_when_it_looks_like_one(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_ref("run-test-1") == "run-test-1" and run_ref(LATEST) == LATEST
    assert run_ref(str(run_dir)) == run_dir
    monkeypatch.chdir(run_dir.parent)  # a bare name of a folder holding run.json
    assert run_ref("run-test-1") == Path("run-test-1")


def test_a_run_id_needs_a_runs_directory(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="no runs directory"):
        resolve_run_dir("run-test-1")


def test_latest_is_the_newest_run_folder(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    with pytest.raises(NotFound, match="no runs"):
        resolve_run_dir(LATEST, runs_dir)
    old = make_run(runs_dir, "run-b")
    _restart(old, "2026-01-01T00:00:00+00:00")
    new = make_run(runs_dir, "run-a")
    _restart(new, "2026-02-01T00:00:00+00:00")
    (runs_dir / "run-c").mkdir()  # a run that never finished: no run.json
    assert resolve_run_dir(LATEST, runs_dir) == new
    assert read_run(LATEST, runs_dir).record["run_id"] == "run-a"


def test_newest_run_id_skips_unfinished_runs_and_breaks_ties_by_id() -> None:
    records = [
        {"run_id": "r-running", "started_at": "2026-03-01", "status": "running"},
        {"run_id": "r-failed", "started_at": "2026-03-01", "status": "failed"},
        {"run_id": "r-2", "started_at": "2026-02-01"},
        {"run_id": "r-1", "started_at": "2026-02-01"},
        {"run_id": "r-0"},
    ]
    assert newest_run_id(records) == "r-1"
    assert newest_run_id(records[4:]) == "r-0"
    assert newest_run_id(records[:2]) is None


def test_read_run_checks_results_against_the_record(run_dir: Path) -> None:
    folder = read_run(run_dir)
    assert folder.results == read_results(run_dir) and folder.record["run_id"] == "run-test-1"
    assert folder.projection().digest == folder.record["snapshot_digest"]
    (run_dir / "results.json").write_bytes(folder.results_bytes.replace(b'"p1"', b'"p2"'))
    with pytest.raises(DetectorError, match="results.json: sha256 differs"):
        read_run(run_dir)


def test_a_frozen_projection_of_another_snapshot_is_refused(run_dir: Path) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record["snapshot_digest"] = "0" * 64
    (run_dir / "run.json").write_bytes(canonical_json(record))
    with pytest.raises(DetectorError, match="is not the run's snapshot digest"):
        read_run(run_dir).projection()
    shutil.rmtree(run_dir / "projection")
    with pytest.raises(NotFound, match="no frozen projection"):
        read_run(run_dir).projection()


def test_write_record_writes_what_it_returns(tmp_path: Path) -> None:
    record = RunRecord(
        run_id="r",
        snapshot_digest="d",
        started_at="s",
        finished_at="f",
        detectors=[],
        params={},
        library_versions={},
        counts={"nodes": 1},
        results_sha256="x",
    )
    written = write_record(tmp_path, record)
    assert (tmp_path / "run.json").read_bytes() == canonical_json(written)
    assert RunRecord.model_validate(json.loads((tmp_path / "run.json").read_text())) == record

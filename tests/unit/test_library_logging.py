"""Library code logs what each stage did, in counts, at INFO on its module's logger (the edge
configures handlers); nothing is printed below the edge."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from detectors.runner import run_detectors
from graph.store import StoreConfig, open_store
from ingest.pipeline import load_snapshot
from tests.unit.test_ingest_pipeline import SNAP1, _write


def test_ingest_and_detectors_log_their_stages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    with open_store(StoreConfig(url=f"embedded:{tmp_path}/g.duckdb")) as store:
        load_snapshot(_write(tmp_path / "snap", SNAP1), store)
        run_detectors(store, runs_dir=tmp_path / "runs")
    by_logger: dict[str, list[str]] = {}
    for r in caplog.records:
        if r.levelno == logging.INFO:
            by_logger.setdefault(r.name, []).append(r.getMessage())
    for name in (
        "graph.store",
        "ingest.readers",
        "ingest.pipeline",
        "graph.projection",
        "detectors.navigation",
        "detectors.clusters",
        "detectors.pathways",
        "detectors.accounts",
        "detectors.grooming",
        "detectors.runner",
    ):
        assert by_logger.get(name), f"{name} logged nothing at INFO"
    assert any("read accounts: 1 file(s), 2 rows, 2 accepted, 0 rejected" in m for m in by_logger["ingest.pipeline"])
    assert any(m.startswith("projection: ") and " nodes (account " in m for m in by_logger["graph.projection"])
    assert capsys.readouterr() == ("", "")

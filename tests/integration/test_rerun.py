"""Auditors' re-runs: a recorded run re-executed on its frozen projection is identical, also after
the live graph changed; a changed detector (version or output) is reported exactly (synthetic data)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from api.cli import build_app
from detectors.base import DetectorOutput
from detectors.registry import DETECTORS
from detectors.rerun import rerun
from detectors.runfolder import RunRecord
from detectors.runner import run_detectors
from graph.embedded import EmbeddedStore
from graph.errors import DetectorError
from graph.model import EDGE_SCHEMA, NodeKind
from ingest.pipeline import load_snapshot
from synth import synth


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, RunRecord, Path]]:
    base = tmp_path_factory.mktemp("rerun")
    synth(base / "snapshot", accounts=1000, seed=5)
    store = EmbeddedStore(base / "graph.duckdb")
    store.ensure_schema()
    load_snapshot(base / "snapshot", store)
    record = run_detectors(store, runs_dir=base / "runs")
    yield store, record, base / "runs"
    store.close()


def _detector(name: str) -> Any:
    return next(d for d in DETECTORS if d.name == name)


def test_rerun_on_frozen_input_is_identical(world: tuple[EmbeddedStore, RunRecord, Path]) -> None:
    _, record, runs_dir = world
    report = rerun(record.run_id, runs_dir=runs_dir)
    assert report.identical and report.reproduced
    assert report.snapshot_digest == record.snapshot_digest
    assert all(d.empty for d in report.diffs.values())
    assert report.summary()[0].startswith(f"run {record.run_id}: IDENTICAL")


def test_rerun_after_the_live_graph_changed_is_still_identical(world: tuple[EmbeddedStore, RunRecord, Path]) -> None:
    store, record, runs_dir = world
    assert record.counts["pathways"] > 0  # something to reproduce
    # the live graph moves on: new accounts follow every flagged account of the run
    results = (Path(record.run_dir or "") / "results.json").read_text()
    flagged = sorted({f["account_id"] for f in json.loads(results)["flagged_accounts"]})
    newcomers = [f"zz-new-{i}" for i in range(5)]
    store.ensure_nodes(NodeKind.ACCOUNT, newcomers)
    t = datetime(2026, 6, 1, tzinfo=UTC)
    store.upsert_edges(
        pa.Table.from_pylist(
            [
                {
                    "src_kind": "account",
                    "src_id": n,
                    "type": "FOLLOWS",
                    "kind": "follow",
                    "dst_kind": "account",
                    "dst_id": f,
                    "created_at": t,
                    "props": None,
                }
                for n in newcomers
                for f in flagged
            ],
            schema=EDGE_SCHEMA,
        )
    )
    later = run_detectors(store, runs_dir=runs_dir)
    assert later.snapshot_digest != record.snapshot_digest
    report = rerun(Path(record.run_dir or ""))
    assert report.reproduced and report.snapshot_digest == record.snapshot_digest


def test_a_new_detector_version_with_other_output_is_reported_exactly(
    world: tuple[EmbeddedStore, RunRecord, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, record, runs_dir = world
    det = _detector("pathways")
    original = det.run
    dropped: list[str] = []

    def run_without_best(projection: Any, params: Any, context: Any) -> DetectorOutput:
        out = original(projection, params, context)
        best = max(out.sections.pathways, key=lambda r: (r.score, r.pathway_id))
        dropped.append(best.pathway_id)
        out.sections.pathways = [r for r in out.sections.pathways if r is not best]
        return out

    monkeypatch.setattr(type(det), "version", "9.9.9")
    monkeypatch.setattr(det, "run", run_without_best)
    report = rerun(record.run_id, runs_dir=runs_dir)
    assert not report.identical and not report.reproduced
    assert report.detector_changes == [
        {"name": "pathways", "recorded": record.detectors[1]["version"], "current": "9.9.9"}
    ]
    assert report.diffs["pathways"].removed == dropped and not report.diffs["pathways"].added
    assert not report.diffs["pathways"].changed
    lines = report.summary()
    assert "DIFFERENT" in lines[0]
    assert any(f"pathways only in the recorded run (1): {dropped[0]}" in ln for ln in lines)
    assert any("detector pathways: version" in ln and "9.9.9 now" in ln for ln in lines)
    assert report.to_dict()["diffs"]["pathways"]["removed"] == dropped


def test_a_version_bump_alone_is_not_a_reproduction(
    world: tuple[EmbeddedStore, RunRecord, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, record, runs_dir = world
    clusters = type(_detector("clusters"))
    monkeypatch.setattr(clusters, "version", clusters.version + ".1")  # a bump, whatever it is today
    report = rerun(record.run_id, runs_dir=runs_dir)
    assert report.identical and not report.reproduced
    assert [c["name"] for c in report.detector_changes] == ["clusters"]


def test_a_tampered_frozen_projection_is_refused(world: tuple[EmbeddedStore, RunRecord, Path], tmp_path: Path) -> None:
    _, record, _ = world
    copy = tmp_path / record.run_id
    shutil.copytree(Path(record.run_dir or ""), copy)
    edges = pq.read_table(copy / "projection" / "edges.parquet")
    pq.write_table(edges.slice(1), copy / "projection" / "edges.parquet")
    with pytest.raises(DetectorError, match="digest"):
        rerun(copy)


def test_cli_rerun_exit_codes(world: tuple[EmbeddedStore, RunRecord, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, record, runs_dir = world
    monkeypatch.setenv("CRUMBGRAPH_RUNS_DIR", str(runs_dir))
    app = build_app()
    ok = CliRunner().invoke(app, ["rerun", record.run_id])
    assert ok.exit_code == 0 and "IDENTICAL" in ok.output
    monkeypatch.setattr(type(_detector("bridges")), "version", "0.0.1-test")
    bad = CliRunner().invoke(app, ["rerun", record.run_id, "--json"])
    assert bad.exit_code == 1 and '"reproduced": false' in bad.output

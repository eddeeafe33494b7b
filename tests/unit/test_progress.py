"""The one progress protocol (graph/progress.py) as the library reports it (ingest, detectors)
and as the edges render it (the CLI's rich display, the API's job records)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console

from api.cli_progress import RichProgress
from api.jobs import JobManager
from graph.embedded import EmbeddedStore
from graph.progress import Stage, fraction
from ingest.pipeline import load_snapshot
from tests.unit.test_ingest_pipeline import SNAP1, _write

Report = tuple[str, float, float | None]


def test_stage_counts_and_learns_an_unknown_total() -> None:
    seen: list[Report] = []
    stage = Stage(lambda s, d, t=None: seen.append((s, d, t)), "read links")
    stage.advance(3)
    stage.advance(2)
    stage.finish()
    assert seen == [("read links", 0.0, None), ("read links", 3, None), ("read links", 5, None), ("read links", 5, 5)]
    assert fraction(5, None) is None and fraction(3, 6) == 0.5 and fraction(9, 6) == 1.0


def test_ingest_reports_each_table_then_the_write(tmp_path: Path) -> None:
    seen: list[Report] = []
    store = EmbeddedStore(tmp_path / "g.duckdb")
    try:
        report = load_snapshot(_write(tmp_path / "snap", SNAP1), store, progress=lambda *a: seen.append(a))
    finally:
        store.close()
    stages = list(dict.fromkeys(s for s, _, _ in seen))
    assert stages == ["read accounts", "read content", "read follows", "read links", "write"]
    for name in stages:
        reports = [(d, t) for s, d, t in seen if s == name]
        assert [d for d, _ in reports] == sorted(d for d, _ in reports)
        assert reports[-1][0] == reports[-1][1]  # each stage ends complete
    rows = {f"read {t}": r.rows_read for t, r in report.tables.items()}
    assert {s: d for s, d, _ in seen if s.startswith("read")} == rows
    assert [d for s, d, _ in seen if s == "write"][-1] == sum(r.written for r in report.tables.values())


def test_rich_progress_draws_a_line_per_stage_or_one_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with RichProgress(console) as progress:
        progress("read accounts", 0, None)
        progress("read accounts", 1500, 1500)
        progress("write", 10, 40)
    text = out.getvalue()
    assert "read accounts" in text and "1500/1500" in text and "10/40" in text
    out = io.StringIO()
    with RichProgress(Console(file=out, force_terminal=True, width=100), one_bar=True) as progress:
        progress("projection", 0.0, 1.0)
        progress("detector clusters", 0.2, 1.0)
    assert "detector clusters" in out.getvalue()
    out = io.StringIO()
    with RichProgress(Console(file=out, force_terminal=True), enabled=False) as progress:
        progress("write", 1, 2)
    assert out.getvalue() == ""


def test_jobs_record_the_latest_progress(tmp_path: Path) -> None:
    def fake_run(store: object, *, params: object, runs_dir: Path, on_progress: object) -> dict[str, str]:
        assert callable(on_progress)
        on_progress("detector clusters", 0.2, 1.0)
        on_progress("done", 1.0, 1.0)
        return {"run_id": "r1"}

    jobs = JobManager(run_fn=fake_run)
    try:
        job = jobs.submit_run(lambda: None, user="alice", params=None, runs_dir=tmp_path)  # type: ignore[arg-type,return-value]
        deadline = time.monotonic() + 10
        while jobs.get(job["job_id"], "run")["status"] not in {"succeeded", "failed"}:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        done = jobs.get(job["job_id"], "run")
    finally:
        jobs.shutdown()
    assert done["status"] == "succeeded" and done["run_id"] == "r1"
    assert done["progress"] == {"stage": "done", "done": 1.0, "total": 1.0, "fraction": 1.0}

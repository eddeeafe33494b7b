"""Background jobs of the API (detector runs, ingests): one worker thread, so two heavy jobs
never compete for the machine; each job's status, progress and outcome are kept in memory."""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.errors import CrumbgraphError, InvalidRequest, NotFound
from graph.progress import Progress, fraction
from graph.store import GraphStore

log = logging.getLogger(__name__)

RunFn = Callable[..., Any]  # run_detectors(store, *, params, runs_dir, on_progress) -> RunRecord
IngestFn = Callable[..., Any]  # load_snapshot(snapshot_dir, store, *, quarantine_dir, progress) -> IngestReport


def job_progress(stage: str, done: float, total: float | None) -> dict[str, Any]:
    """What a job records of the library's latest progress report (graph.progress.Progress)."""
    return {"stage": stage, "done": done, "total": total, "fraction": fraction(done, total)}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _default_run_fn() -> RunFn:
    from detectors.runner import run_detectors

    return run_detectors


def _default_ingest_fn(limits: Any = None) -> IngestFn:
    from ingest.pipeline import load_snapshot

    return functools.partial(load_snapshot, limits=limits) if limits is not None else load_snapshot


def _plain(obj: Any) -> Any:
    """A JSON-able view of a report object (dataclass, pydantic model or mapping)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if hasattr(obj, "model_dump"):
        return _plain(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_plain(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _plain(obj.to_dict())
    return str(obj)


class JobManager:
    """Queue of background jobs run one at a time."""

    def __init__(
        self, run_fn: RunFn | None = None, ingest_fn: IngestFn | None = None, ingest_limits: Any = None
    ) -> None:
        self._run_fn = run_fn
        self._ingest_fn = ingest_fn
        self._ingest_limits = ingest_limits  # ingest.guard.ReaderLimits for the default ingest
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crumbgraph-job")
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def get(self, job_id: str, kind: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job["kind"] != kind:
                raise NotFound(f"no {kind} job {job_id!r}")
            return dict(job)

    def list(self, *, kind: str | None = None, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Every job this process knows (of `kind` and `status` if given), newest first."""
        with self._lock:
            jobs = [dict(j) for j in reversed(self._jobs.values())]
        return [j for j in jobs if kind in (None, j["kind"]) and status in (None, j["status"])][:limit]

    def _new(self, kind: str, user: str, params: dict[str, Any]) -> dict[str, Any]:
        job_id = f"{kind}-{uuid.uuid4().hex[:12]}"
        job: dict[str, Any] = {
            "job_id": job_id,
            "kind": kind,
            "status": "queued",
            "submitted_by": user,
            "submitted_at": _now(),
            "started_at": None,
            "finished_at": None,
            "params": params,
            "progress": None,
            "run_id": None,
            "report": None,
            "error": None,
        }
        with self._lock:
            self._jobs[job_id] = job
        return job

    def _update(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            self._jobs[job_id].update(fields)

    def _execute(self, job_id: str, work: Callable[[Progress], dict[str, Any]]) -> None:
        self._update(job_id, status="running", started_at=_now())

        def on_progress(stage: str, done: float, total: float | None = None) -> None:
            self._update(job_id, progress=job_progress(stage, done, total))

        try:
            outcome = work(on_progress)
        except CrumbgraphError as exc:
            self._update(job_id, status="failed", finished_at=_now(), error=str(exc))
        except Exception as exc:  # a job thread must record its failure, not die silently
            log.exception("job %s failed", job_id)
            self._update(job_id, status="failed", finished_at=_now(), error=f"{type(exc).__name__}: internal error")
        else:
            self._update(job_id, status="succeeded", finished_at=_now(), **outcome)

    def submit_run(
        self, store_getter: Callable[[], GraphStore], *, user: str, params: dict[str, Any] | None, runs_dir: Path
    ) -> dict[str, Any]:
        """Queue a detector run; the job's `run_id` is set when it finishes."""
        if self._run_fn is None:  # bad parameters are the caller's error (422 now), not a failed job later
            from detectors.runner import resolve_params

            resolve_params(params)
        job = self._new("run", user, {"params": params})

        def work(on_progress: Progress) -> dict[str, Any]:
            run_fn = self._run_fn or _default_run_fn()
            record = run_fn(store_getter(), params=params, runs_dir=runs_dir, on_progress=on_progress)
            run_id = getattr(record, "run_id", None) or (record.get("run_id") if isinstance(record, dict) else None)
            return {"run_id": run_id}

        self._pool.submit(self._execute, job["job_id"], work)
        return dict(job)

    def submit_publish(
        self, store_getter: Callable[[], GraphStore], *, user: str, run_id: str, runs_dir: Path
    ) -> dict[str, Any]:
        """Queue publishing run `run_id` (a run folder under `runs_dir`) into the Neo4j store."""
        job = self._new("publish", user, {"run_id": run_id})

        def work(on_progress: Progress) -> dict[str, Any]:
            from publish import publish_run

            on_progress("publish", 0, 1)
            report = publish_run(run_id, store_getter(), runs_dir=runs_dir)
            on_progress("publish", 1, 1)
            return {"run_id": report.run_id, "report": report.to_dict()}

        self._pool.submit(self._execute, job["job_id"], work)
        return dict(job)

    def submit_ingest(
        self, store_getter: Callable[[], GraphStore], *, user: str, snapshot_dir: Path, quarantine_dir: Path | None
    ) -> dict[str, Any]:
        if not Path(snapshot_dir).is_dir():
            raise InvalidRequest(f"snapshot_dir {str(snapshot_dir)!r} is not a directory on the server")
        job = self._new("ingest", user, {"snapshot_dir": str(snapshot_dir)})

        def work(on_progress: Progress) -> dict[str, Any]:
            ingest_fn = self._ingest_fn or _default_ingest_fn(self._ingest_limits)
            report = ingest_fn(snapshot_dir, store_getter(), quarantine_dir=quarantine_dir, progress=on_progress)
            return {"report": _plain(report)}

        self._pool.submit(self._execute, job["job_id"], work)
        return dict(job)

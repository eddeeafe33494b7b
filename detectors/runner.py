"""The runner: build the projection, run every registered detector, and record the run
(results.json, run.json, the frozen projection) in a run folder and in the store."""

from __future__ import annotations

import logging
import platform
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from detectors.base import DetectorContext, DetectorOutput
from detectors.navigation import NavigationParams, build_navigation
from detectors.registry import DETECTORS
from detectors.results import RESULTS_FORMAT, DetectorRef, Results, Sections
from detectors.runfolder import (
    RunRecord,
    canonical_json,
    create_run_dir,
    sha256_hex,
    write_projection,
    write_record,
    write_results,
)
from graph.errors import DetectorError
from graph.model import RelType
from graph.progress import Progress, no_progress
from graph.projection import Projection, project

if TYPE_CHECKING:
    from graph.store import GraphStore

logger = logging.getLogger(__name__)

#: the runner's progress is the share of the whole run done: progress(stage, fraction, 1.0)
WHOLE_RUN = 1.0


class ProjectionParams(BaseModel):
    """Which part of the stored graph the detectors see."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: datetime | None = None
    until: datetime | None = None
    edge_types: tuple[RelType, ...] | None = None


def resolve_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate `params` ({"projection": {...}, "navigation": {...}, "<detector>": {...}}) and
    return the complete parameter set, defaults filled in, as JSON-able values."""
    params = dict(params or {})
    sections: dict[str, type[BaseModel]] = {"projection": ProjectionParams, "navigation": NavigationParams}
    sections.update({d.name: d.Params for d in DETECTORS})
    unknown = set(params) - set(sections)
    if unknown:
        raise DetectorError(f"parameters: unknown section(s) {sorted(unknown)}; expected {sorted(sections)}")
    out = {}
    for name, model in sections.items():
        try:
            out[name] = model.model_validate(params.get(name) or {}).model_dump(mode="json")
        except ValidationError as exc:
            raise DetectorError(f"parameters[{name!r}]: {exc}") from exc
    return out


def library_versions() -> dict[str, str]:
    vers = {"python": platform.python_version()}
    for pkg in ("crumbgraph", "numpy", "scipy", "igraph", "pyarrow", "pydantic"):
        try:
            vers[pkg] = version(pkg)
        except PackageNotFoundError:
            vers[pkg] = "unknown"
    return vers


def run_projection(
    proj: Projection,
    params: dict[str, Any],
    *,
    on_progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Sections, dict[str, int]]:
    """Run every detector on a projection (pure: no I/O). `params` must be resolved. Returns the
    merged result sections, in their canonical order, and counts; `timings` (if given) receives
    the seconds of the navigation model and of each detector."""
    on_progress = on_progress or no_progress
    timings = timings if timings is not None else {}
    t = time.perf_counter()
    nav = build_navigation(proj, NavigationParams.model_validate(params["navigation"]))
    timings["navigation"] = time.perf_counter() - t
    outputs: dict[str, DetectorOutput] = {}
    counts: dict[str, int] = {"nodes": proj.n_nodes, "edges": proj.n_edges, "navigation_steps": int(nav.src.size)}
    merged = Sections()
    for i, det in enumerate(DETECTORS):
        on_progress(f"detector {det.name}", 0.2 + 0.7 * i / len(DETECTORS), WHOLE_RUN)
        t = time.perf_counter()
        outputs[det.name] = det.run(
            proj, det.Params.model_validate(params[det.name]), DetectorContext(navigation=nav, outputs=outputs)
        )
        timings[det.name] = time.perf_counter() - t
        counts.update(outputs[det.name].counts)
        logger.info("detector %s %s: %s in %.2f s", det.name, det.version, outputs[det.name].counts, timings[det.name])
        merged.extend(outputs[det.name].sections)
    merged.sort()
    counts["flagged_accounts"] = len(merged.flagged_accounts)
    return merged, counts


def build_results(run_id: str, proj: Projection, params: dict[str, Any], sections: Sections) -> Results:
    return Results(
        run_id=run_id,
        results_format=RESULTS_FORMAT,
        snapshot_digest=proj.digest,
        detectors=[DetectorRef(name=d.name, version=d.version) for d in DETECTORS],
        params=params,
        clusters=sections.clusters,
        pathways=sections.pathways,
        flagged_accounts=sections.flagged_accounts,
        exposure=sections.exposure,
    )


def new_run_id() -> str:
    return f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_detectors(
    store: GraphStore,
    *,
    params: dict[str, Any] | None = None,
    runs_dir: Path,
    on_progress: Progress | None = None,
    run_id: str | None = None,
    freeze_projection: bool = True,
) -> RunRecord:
    """Project `store`, run every detector, write `runs_dir/<run_id>/` (results.json, run.json,
    projection/), save the run in the store, and return its record.

    Raises DetectorError for bad parameters; store errors pass through."""
    resolved = resolve_params(params)
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    on_progress = on_progress or no_progress
    on_progress("projection", 0.0, WHOLE_RUN)
    t = time.perf_counter()
    pp = ProjectionParams.model_validate(resolved["projection"])
    proj = project(store, since=pp.since, until=pp.until, edge_types=pp.edge_types)
    timings["projection"] = time.perf_counter() - t
    run_dir = create_run_dir(runs_dir, run_id)
    if freeze_projection:
        t = time.perf_counter()
        write_projection(run_dir, proj)
        timings["freeze_projection"] = time.perf_counter() - t
    sections, counts = run_projection(proj, resolved, on_progress=on_progress, timings=timings)
    on_progress("writing results", 0.95, WHOLE_RUN)
    results = canonical_json(build_results(run_id, proj, resolved, sections).model_dump(mode="json"))
    write_results(run_dir, results)
    record = RunRecord(
        run_id=run_id,
        snapshot_digest=proj.digest,
        started_at=started.isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
        detectors=[{"name": d.name, "version": d.version} for d in DETECTORS],
        params=resolved,
        library_versions=library_versions(),
        counts=counts,
        timings={k: round(v, 3) for k, v in timings.items()},
        results_sha256=sha256_hex(results),
        run_dir=str(run_dir),
    )
    record_dict = write_record(run_dir, record)
    store.save_run(run_id, record_dict, results)
    logger.info(
        "run %s: %d clusters, %d pathways, %d flagged accounts on input %s, results in %s",
        run_id,
        len(sections.clusters),
        len(sections.pathways),
        len(sections.flagged_accounts),
        proj.digest[:16],
        run_dir,
    )
    on_progress("done", WHOLE_RUN, WHOLE_RUN)
    return record

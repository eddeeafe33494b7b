"""Publishing a run's results into the server's Neo4j store (a background job everyone who may
see jobs can follow) and taking them out again; 409 when the server's store is not Neo4j."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, ServicesDep, StoreDep
from api.schemas import Job, UnpublishReport
from detectors.runfolder import resolve_run_dir
from publish import unpublish_run
from publish.writer import require_neo4j

router = APIRouter(tags=["publish"])


@router.post(
    "/runs/{run_id}/publish",
    response_model=Job,
    status_code=202,
    summary="Write a run's results into the Neo4j store (background job; idempotent; docs/neo4j.md)",
)
def publish(run_id: str, store: StoreDep, services: ServicesDep, principal: PrincipalDep) -> Job:
    require_neo4j(store)
    run_dir = resolve_run_dir(run_id, services.settings.runs_dir)  # 404 now, not a failed job later
    job = services.jobs.submit_publish(
        services.stores.get, user=principal.name, run_id=run_dir.name, runs_dir=services.settings.runs_dir
    )
    return Job.model_validate(job)


@router.delete(
    "/runs/{run_id}/publish",
    response_model=UnpublishReport,
    summary="Remove exactly what publishing wrote for a run (the snapshot's nodes stay)",
)
def unpublish(run_id: str, store: StoreDep) -> UnpublishReport:
    return UnpublishReport.model_validate(unpublish_run(run_id, require_neo4j(store)).to_dict())

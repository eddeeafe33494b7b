"""Detector runs: start one (background job), job status, run records, paged results,
pathways (by source content, cluster or account), clusters and flagged accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import results as R
from api.auth import AUDITOR, pseudonymise, pseudonymise_result
from api.deps import PrincipalDep, ServicesDep, StoreDep, counted
from api.schemas import (
    MAX_PAGE,
    ClusterDetail,
    ClusterPage,
    FlaggedPage,
    Job,
    PathwayPage,
    ResultsPage,
    ResultsSection,
    RunList,
    RunRecord,
    RunStart,
)
from detectors.results import Pathway, Section

router = APIRouter(tags=["runs"])

# Routes over a run's results are async: a cached run is answered without a thread-pool hop
# (ResultsCache.aget moves anything that may block off the event loop).

RunId = Annotated[str, "a run id, or `latest` for the newest run with results"]
Cursor = Annotated[str | None, Query(max_length=200, description="From the previous page's next_cursor.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


@router.get("/runs", response_model=RunList, summary="All run records, newest first")
def list_runs(request: Request, store: StoreDep, services: ServicesDep, principal: PrincipalDep) -> RunList:
    records = store.list_runs()
    if principal.role == AUDITOR:
        records = pseudonymise(records, services.pseudonym_secret)
    counted(request, len(records))
    return RunList(items=[RunRecord.model_validate(r) for r in records])


@router.post("/runs", response_model=Job, status_code=202, summary="Start a detector run in the background")
def start_run(body: RunStart, services: ServicesDep, principal: PrincipalDep) -> Job:
    job = services.jobs.submit_run(
        services.stores.get, user=principal.name, params=body.params, runs_dir=services.settings.runs_dir
    )
    return Job.model_validate(job)


@router.get("/run-jobs/{job_id}", response_model=Job, summary="Status of a detector-run job")
def run_job(job_id: str, services: ServicesDep) -> Job:
    return Job.model_validate(services.jobs.get(job_id, "run"))


@router.get("/runs/{run_id}", response_model=RunRecord, summary="A run record (parameters, digests, versions)")
def get_run(run_id: str, store: StoreDep, services: ServicesDep, principal: PrincipalDep) -> RunRecord:
    record = R.get_run_record(store, run_id)
    if principal.role == AUDITOR:
        record = pseudonymise(record, services.pseudonym_secret)
    return RunRecord.model_validate(record)


@router.get(
    "/runs/{run_id}/results",
    response_model=ResultsPage,
    summary="A run's results, one section at a time, paged (auditors see pseudonymised account ids)",
)
async def get_results(
    request: Request,
    run_id: str,
    store: StoreDep,
    services: ServicesDep,
    principal: PrincipalDep,
    section: ResultsSection = "flagged_accounts",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ResultsPage:
    index = await services.results.aget(store, run_id)
    pg = R.results_section(index, Section(section), cursor, limit)
    items: list[Any] = pg.items
    if principal.role == AUDITOR:
        items = [pseudonymise_result(item, services.pseudonym_secret) for item in items]
    counted(request, len(items))
    return ResultsPage(section=section, items=items, next_cursor=pg.next_cursor, total=pg.total, **index.summary())


@router.get(
    "/runs/{run_id}/pathways",
    response_model=PathwayPage,
    summary="Pathways of a run in queue order, optionally by source content, cluster, account or trail",
)
async def list_pathways(
    request: Request,
    run_id: str,
    store: StoreDep,
    services: ServicesDep,
    source_id: Annotated[str | None, Query(max_length=512, description="source content id")] = None,
    cluster_id: Annotated[str | None, Query(max_length=512)] = None,
    account_id: Annotated[str | None, Query(max_length=512)] = None,
    trail: Annotated[str | None, Query(max_length=512, description="the pathways of one trail")] = None,
    trails_only: Annotated[bool, Query(description="one pathway per trail (its representative)")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> PathwayPage:
    index = await services.results.aget(store, run_id)
    pg = R.query_pathways(
        index,
        source_id=source_id,
        cluster_id=cluster_id,
        account_id=account_id,
        trail_id=trail,
        trails_only=trails_only,
        cursor=cursor,
        limit=limit,
    )
    counted(request, len(pg.items))
    return PathwayPage(run_id=index.run_id, items=pg.items, next_cursor=pg.next_cursor, total=pg.total)


@router.get("/runs/{run_id}/pathways/{pathway_id}", response_model=Pathway, summary="One pathway")
async def get_pathway(run_id: str, pathway_id: str, store: StoreDep, services: ServicesDep) -> Pathway:
    return R.get_pathway(await services.results.aget(store, run_id), pathway_id)


@router.get("/runs/{run_id}/clusters", response_model=ClusterPage, summary="Clusters of a run by score")
async def list_clusters(
    request: Request, run_id: str, store: StoreDep, services: ServicesDep, cursor: Cursor = None, limit: Limit = 50
) -> ClusterPage:
    index = await services.results.aget(store, run_id)
    pg = R.query_clusters(index, cursor=cursor, limit=limit)
    counted(request, len(pg.items))
    return ClusterPage(run_id=index.run_id, items=pg.items, next_cursor=pg.next_cursor, total=pg.total)


@router.get("/runs/{run_id}/clusters/{cluster_id}", response_model=ClusterDetail, summary="One cluster")
async def get_cluster(run_id: str, cluster_id: str, store: StoreDep, services: ServicesDep) -> ClusterDetail:
    cluster, entry_pathways = R.get_cluster(await services.results.aget(store, run_id), cluster_id)
    return ClusterDetail.model_validate({**cluster.model_dump(), "entry_pathways": entry_pathways})


@router.get(
    "/runs/{run_id}/flagged-accounts",
    response_model=FlaggedPage,
    summary="Flagged accounts of a run by score, optionally one role (bridge, cluster_member, ...)",
)
async def list_flagged(
    request: Request,
    run_id: str,
    store: StoreDep,
    services: ServicesDep,
    role: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> FlaggedPage:
    index = await services.results.aget(store, run_id)
    pg = R.query_flagged(index, role=role, cursor=cursor, limit=limit)
    counted(request, len(pg.items))
    return FlaggedPage(run_id=index.run_id, items=pg.items, next_cursor=pg.next_cursor, total=pg.total)

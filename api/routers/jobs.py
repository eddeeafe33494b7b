"""Jobs everyone can see: the ingest and detector jobs of this server, who started them, their
state and progress (the console's live Jobs view polls this)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.auth import AUDITOR
from api.deps import PrincipalDep, ServicesDep, counted
from api.schemas import JobKind, JobList, JobSummary

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobList, summary="Ingest and detector jobs of this server, newest first")
def list_jobs(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    kind: JobKind | None = None,
    status: Literal["queued", "running", "succeeded", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JobList:
    jobs = services.jobs.list(kind=kind, status=status, limit=limit)
    items = [JobSummary.model_validate(j) for j in jobs]
    if principal.role == AUDITOR:
        items = [j.model_copy(update={"error": "failed" if j.error else None}) for j in items]
    counted(request, len(items))
    running = sum(j["status"] in ("queued", "running") for j in services.jobs.list(limit=10_000))
    return JobList(items=items, running=running)

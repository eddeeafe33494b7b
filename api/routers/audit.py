"""The audit log for auditors: entries in order (account ids pseudonymised) and a check of
the hash chain."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.audit import audit_view
from api.deps import ServicesDep, counted
from api.schemas import AuditPage, AuditVerification

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditPage, summary="Audit entries after sequence number `after`")
def list_audit(
    request: Request,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    entries = audit_view(services.audit.entries(after=after, limit=limit), services.pseudonym_secret)
    counted(request, len(entries))
    return AuditPage(items=entries, next_after=entries[-1]["seq"] if len(entries) == limit else None)


@router.get("/audit/verify", response_model=AuditVerification, summary="Check the audit log's hash chain")
def verify_audit(services: ServicesDep) -> AuditVerification:
    return AuditVerification.model_validate(asdict(services.audit.verify()))

"""Cases over HTTP: group flagged items, move them Open -> In progress -> Confirmed / Dismissed
with a note for every change, assign, keep the full history, share with law-enforcement users
(who see only what is shared with them). The rules are casework.workflow's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import Principal
from api.deps import PrincipalDep, ServicesDep, counted
from api.schemas import (
    Case,
    CaseCreate,
    CaseHistory,
    CaseItemsAdd,
    CaseList,
    CaseNote,
    CaseShare,
    CaseUpdate,
)
from casework import CaseStatus, case_viewer

router = APIRouter(tags=["cases"])


def _viewer(principal: Principal) -> str | None:
    return case_viewer(principal.name, principal.role)


@router.get("/cases", response_model=CaseList, summary="Cases (law enforcement: only those shared with you)")
def list_cases(
    request: Request, services: ServicesDep, principal: PrincipalDep, status: CaseStatus | None = None
) -> CaseList:
    cases = services.cases.list_cases(viewer=_viewer(principal), status=status)
    counted(request, len(cases))
    return CaseList(items=cases)


@router.post("/cases", response_model=Case, status_code=201, summary="Open a case from flagged items")
def create_case(body: CaseCreate, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(
        services.cases.create_case(
            title=body.title,
            actor=principal.name,
            note=body.note,
            items=[i.model_dump() for i in body.items],
            run_id=body.run_id,
            assignee=body.assignee,
        )
    )


@router.get("/cases/{case_id}", response_model=Case, summary="One case")
def get_case(case_id: str, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(services.cases.get_case(case_id, viewer=_viewer(principal)))


@router.patch(
    "/cases/{case_id}",
    response_model=Case,
    summary="Change status and/or assignee (409 for a transition the workflow forbids)",
)
def update_case(case_id: str, body: CaseUpdate, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(
        services.cases.update_case(
            case_id,
            actor=principal.name,
            note=body.note,
            status=body.status,
            assignee=body.assignee,
            unassign=body.unassign,
        )
    )


@router.post("/cases/{case_id}/items", response_model=Case, summary="Add flagged items to a case")
def add_items(case_id: str, body: CaseItemsAdd, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(
        services.cases.add_case_items(
            case_id, actor=principal.name, note=body.note, items=[i.model_dump() for i in body.items]
        )
    )


@router.post("/cases/{case_id}/notes", response_model=Case, summary="Add a note to a case's history")
def add_note(case_id: str, body: CaseNote, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(services.cases.add_case_note(case_id, actor=principal.name, note=body.note))


@router.get("/cases/{case_id}/history", response_model=CaseHistory, summary="Every change to a case, in order")
def case_history(request: Request, case_id: str, services: ServicesDep, principal: PrincipalDep) -> CaseHistory:
    entries = services.cases.case_history(case_id, viewer=_viewer(principal))
    counted(request, len(entries))
    return CaseHistory(case_id=case_id, items=entries)


@router.post("/cases/{case_id}/shares", response_model=Case, summary="Share a case with a law-enforcement user")
def share_case(case_id: str, body: CaseShare, services: ServicesDep, principal: PrincipalDep) -> Case:
    return Case.model_validate(
        services.cases.share_case(case_id, actor=principal.name, note=body.note, user_name=body.user_name)
    )


@router.delete("/cases/{case_id}/shares/{user_name}", response_model=Case, summary="Stop sharing a case")
def unshare_case(
    case_id: str,
    user_name: str,
    services: ServicesDep,
    principal: PrincipalDep,
    note: Annotated[str, Query(min_length=1, max_length=4000)],
) -> Case:
    return Case.model_validate(
        services.cases.unshare_case(case_id, actor=principal.name, note=note, user_name=user_name)
    )

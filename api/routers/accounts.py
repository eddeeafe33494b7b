"""Accounts: stored properties with what a run says of them, pathways through them, and a
bounded k-hop neighbourhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api import results as R
from api.deps import ServicesDep, StoreDep, counted
from api.schemas import MAX_HOPS, MAX_NODES, MAX_PAGE, Account, Neighbourhood, PathwayPage
from detectors.runfolder import LATEST

router = APIRouter(tags=["accounts"])

RunQuery = Annotated[str, Query(min_length=1, max_length=512, description="a run id or `latest`")]


@router.get("/accounts/{account_id}", response_model=Account, summary="An account, its flags and clusters")
def get_account(account_id: str, store: StoreDep, services: ServicesDep, run_id: RunQuery = LATEST) -> Account:
    return Account.model_validate(R.describe_account(store, services.results, account_id, run_id))


@router.get(
    "/accounts/{account_id}/pathways",
    response_model=PathwayPage,
    summary="Pathways of a run that pass through the account, by score",
)
def account_pathways(
    request: Request,
    account_id: str,
    store: StoreDep,
    services: ServicesDep,
    run_id: RunQuery = LATEST,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> PathwayPage:
    index, pg = R.account_pathways(store, services.results, account_id, run_id, cursor, limit)
    counted(request, len(pg.items))
    return PathwayPage(run_id=index.run_id, items=pg.items, next_cursor=pg.next_cursor, total=pg.total)


@router.get(
    "/accounts/{account_id}/neighbourhood",
    response_model=Neighbourhood,
    summary="Nodes and edges within `hops` of the account, at most `limit` nodes",
)
def neighbourhood(
    request: Request,
    account_id: str,
    store: StoreDep,
    hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_NODES)] = 200,
) -> Neighbourhood:
    hood = R.account_neighbourhood(store, account_id, hops, limit)
    counted(request, len(hood["nodes"]))
    return Neighbourhood(
        account_id=account_id,
        hops=hops,
        limit=limit,
        nodes=hood["nodes"],
        edges=hood["edges"],
        truncated=bool(hood.get("truncated", False)),
    )

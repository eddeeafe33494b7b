"""Liveness (the one route without a key), who-am-I, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import PrincipalDep, ServicesDep
from api.schemas import Health, Me

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health, summary="Liveness and store reachability (no key needed)")
def health(services: ServicesDep) -> Health:
    reachable = services.stores.ping()
    return Health(status="ok" if reachable else "degraded", store="ok" if reachable else "unavailable")


@router.get("/me", response_model=Me, summary="The caller's user name and role")
def me(principal: PrincipalDep) -> Me:
    return Me(name=principal.name, role=principal.role)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    doc: dict[str, Any] = request.app.openapi()
    return doc

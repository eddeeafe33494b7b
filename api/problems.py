"""RFC 9457 problem details: the one place errors become HTTP answers. Clients get a type,
title, status and a human detail; never a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.errors import CrumbgraphError, StoreUnavailable

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://crumbgraph.example/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (type_ or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, instance: str | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, instance=instance, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _crumbgraph_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrumbgraphError)
    status = exc.http_status
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable: %s", exc)
        return problem(
            503,
            "the graph store is unreachable; try again shortly",
            instance=request.url.path,
            headers={"Retry-After": "5"},
            type_="store-unavailable",
        )
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        return problem(status, "internal error", instance=request.url.path)
    return problem(status, str(exc), instance=request.url.path)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None), instance=request.url.path)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, f"invalid request: {where}", instance=request.url.path, errors=errors)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error", instance=request.url.path)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(CrumbgraphError, _crumbgraph_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

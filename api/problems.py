"""RFC 9457 problem details: the one place errors become HTTP answers. Clients get a type,
title, status and a human detail; never a stack trace."""

from __future__ import annotations

import logging
import os
from http import HTTPStatus
from pathlib import Path
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


def server_paths(request: Request) -> list[tuple[str, str]]:
    """(path, placeholder) of the folders this server keeps things in, longest first: error
    texts name these by their role, never by where they are on the server."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return []
    s = services.settings
    named = {"runs": s.runs_dir, "state": s.state_dir, "keys": s.keys_dir, "exports": s.exports_dir}
    named.update({k: Path(v) for k, v in vars(s).items() if k.endswith("_root") and v})  # e.g. the ingest root
    out = {str(p): f"<{name}>" for name, p in named.items() if str(p) not in ("", ".")}
    out.update({str(Path(p).resolve()): f"<{name}>" for name, p in named.items()})
    out[os.getcwd()] = "<server>"
    return sorted(out.items(), key=lambda kv: -len(kv[0]))


def scrub(detail: str, paths: list[tuple[str, str]]) -> str:
    """`detail` with every server folder replaced by its placeholder."""
    for path, placeholder in paths:
        if len(path) > 1:
            detail = detail.replace(path, placeholder)
    return detail


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    request: Request | None = None,
    **extra: Any,
) -> JSONResponse:
    if request is not None:
        detail = scrub(detail, server_paths(request))
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
    return problem(status, str(exc), instance=request.url.path, request=request)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        exc.status_code,
        str(exc.detail),
        headers=getattr(exc, "headers", None),
        instance=request.url.path,
        request=request,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, f"invalid request: {where}", instance=request.url.path, request=request, errors=errors)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error", instance=request.url.path)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(CrumbgraphError, _crumbgraph_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

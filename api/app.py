"""The FastAPI application: `create_app(settings)` wires the routers, the access/audit gate and
the problem handlers; the lifespan opens the store and the state file once per process."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api import problems
from api.audit import AccessMiddleware
from api.auth import PERMISSIONS, PUBLIC, KeyChecks, KeyVerifier, RateLimiter
from api.deps import Services, StoreHolder
from api.jobs import IngestFn, JobManager, RunFn
from api.results import ResultsCache, warm_up
from api.routers import accounts, admin, audit, cases, evidence, health, jobs, publish, runs, ui
from api.schemas import Problem
from api.settings import Settings, pseudonym_key, reader_limits
from casework import open_casework
from graph.store import GraphStore

#: Routers the app includes, in OpenAPI order.
ROUTERS = (
    health.router,
    runs.router,
    accounts.router,
    cases.router,
    admin.router,
    audit.router,
    ui.router,
    evidence.router,
    jobs.router,
    publish.router,
)


def served_routes() -> set[tuple[str, str]]:
    """(method, template) of every route the app serves (HEAD aside)."""
    return {
        (m, r.path)
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in r.methods or ()
        if m != "HEAD"
    }


def success_statuses() -> dict[tuple[str, str], int]:
    """(method, template) -> the status code the route answers on success."""
    return {
        (m, r.path): r.status_code or 200
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in r.methods or ()
    }


_PROBLEM_CODES = {
    400: "Bad request (e.g. a cursor this API did not issue, an invalid value)",
    401: "Missing, unknown or revoked API key",
    403: "Your role may not use this route",
    404: "No such resource (or not shared with you)",
    409: "Conflicts with the current state (e.g. a forbidden case transition, no evidence signing key yet)",
    413: "Request body too large",
    422: "Request does not match the schema",
    429: "Rate limit exceeded; see Retry-After",
    503: "The graph store is unreachable; see Retry-After",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in _PROBLEM_CODES.items()
}

DESCRIPTION = """\
Authenticated, role-checked, audited access to crumbgraph's detector runs, pathways, accounts,
clusters and cases. Metadata only: no media is stored or served.

Send `Authorization: Bearer <API key>` (from `crumbgraph users add NAME --role ROLE`) on every
request except `/health`. Roles: `investigator`, `law_enforcement` (only cases shared with you),
`auditor` (run records and the audit log; account ids pseudonymised), `admin` (users, ingest,
configuration). Every request is written to a hash-chained audit log. Errors are RFC 9457
problem details (`application/problem+json`).
"""


def create_app(
    settings: Settings,
    *,
    store: GraphStore | None = None,
    run_fn: RunFn | None = None,
    ingest_fn: IngestFn | None = None,
) -> FastAPI:
    """Build the app. `store` (tests) replaces opening `settings.store`; `run_fn`/`ingest_fn`
    replace detectors.runner.run_detectors / ingest.pipeline.load_snapshot."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        casework = open_casework(settings.state_dir)
        stores = StoreHolder(settings.store_config(), store)
        stores.try_open()  # unreachable now is fine: requests answer 503 until it is back
        verifier = KeyVerifier(
            casework.users, ttl=settings.api_key_cache_seconds, negative_ttl=settings.api_auth_negative_cache_seconds
        )
        services = Services(
            settings=settings,
            users=casework.users,
            cases=casework.cases,
            audit=casework.audit,
            verifier=verifier,
            limiter=RateLimiter(settings.api_rate_limit, settings.api_rate_burst),
            address_limiter=RateLimiter(settings.api_address_rate_limit, settings.api_address_rate_burst),
            auth_failures=RateLimiter(settings.api_auth_failure_rate, settings.api_auth_failure_burst),
            key_checks=KeyChecks(verifier, settings.api_argon2_concurrency, settings.api_argon2_wait_seconds),
            stores=stores,
            results=ResultsCache(settings.api_results_cache_runs),
            jobs=JobManager(run_fn=run_fn, ingest_fn=ingest_fn, ingest_limits=reader_limits(settings)),
            pseudonym_key=pseudonym_key(settings),
        )
        app.state.services = services
        warm = threading.Thread(
            target=warm_up, args=(services.results, stores.opened), name="results-warm-up", daemon=True
        )
        warm.start()
        try:
            yield
        finally:
            warm.join()  # never close the store under the warm-up
            services.jobs.shutdown()
            if store is None:  # a store handed in belongs to the caller
                stores.close()
            casework.close()

    app = FastAPI(
        title="crumbgraph investigator API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    for router in ROUTERS:
        app.include_router(router, responses=PROBLEM_RESPONSES)
    problems.install(app)
    app.add_middleware(AccessMiddleware, fastapi_app=app, statuses=success_statuses())

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: problem answers as application/problem+json, bearer auth everywhere
    but on public routes, and each operation's allowed roles in `x-roles`."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `crumbgraph users add`.",
    }
    doc["security"] = [{"apiKey": []}]
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            roles = PERMISSIONS.get((method.upper(), path))
            if roles is PUBLIC:
                op["security"] = []
                for code in ("401", "403"):
                    op.get("responses", {}).pop(code, None)
            else:
                op["x-roles"] = sorted(str(r) for r in roles or ())
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content", {})
                if code[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
    doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    return doc

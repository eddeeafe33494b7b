"""What routes depend on: the app's services (built once in the lifespan), the store (reopened
on demand after it was unreachable), and the authenticated principal."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import KeyChecks, KeyVerifier, Principal, RateLimiter
from api.jobs import JobManager
from api.results import ResultsCache
from api.settings import Settings
from casework import AuditLog, CaseWorkflow, UserStore
from graph.errors import StoreError, StoreUnavailable
from graph.store import GraphStore, StoreConfig, open_store


class StoreHolder:
    """The one GraphStore of the process. If the store cannot be opened at start-up (or was
    unreachable), each request tries again, so the API answers 503 while it is down and
    recovers by itself when it returns; a store that opened keeps its driver's own reconnects."""

    def __init__(self, config: StoreConfig | None = None, store: GraphStore | None = None) -> None:
        self._config = config
        self._store = store
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._ping: tuple[bool, float] | None = None

    def get(self) -> GraphStore:
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                if self._config is None:
                    raise StoreUnavailable("no store configured")
                try:
                    self._store = open_store(self._config)
                except StoreUnavailable as exc:
                    self.last_error = str(exc)
                    raise
                self.last_error = None
            return self._store

    @property
    def opened(self) -> GraphStore | None:
        return self._store

    def try_open(self) -> None:
        try:
            self.get()
        except StoreUnavailable:
            pass

    def ping(self, max_age: float = 2.0) -> bool:
        """Is the store reachable? A cheap read, remembered for `max_age` seconds so that the
        unauthenticated /health cannot be used to load the store."""
        now = time.monotonic()
        if self._ping is not None and now - self._ping[1] < max_age:
            return self._ping[0]
        try:
            self.get().counts()
            ok = True
        except StoreError:
            ok = False
        self._ping = (ok, now)
        return ok

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


@dataclass
class Services:
    """What the lifespan builds once per process; routes reach it through `ServicesDep`."""

    settings: Settings
    users: UserStore
    cases: CaseWorkflow
    audit: AuditLog
    verifier: KeyVerifier
    limiter: RateLimiter  # per API key
    address_limiter: RateLimiter  # per client address, every request, before authentication
    auth_failures: RateLimiter  # failed key checks per client address
    key_checks: KeyChecks  # argon2, bounded
    stores: StoreHolder
    results: ResultsCache
    jobs: JobManager
    pseudonym_key: bytes = b""  # from api.settings.pseudonym_key, resolved once in the lifespan

    @property
    def pseudonym_secret(self) -> bytes:
        return self.pseudonym_key


# The dependencies are `async def` on purpose: they do not block (the store is opened once), and
# FastAPI would otherwise hand each sync dependency to the thread pool, a hop per request each.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_store(request: Request) -> GraphStore:
    holder: StoreHolder = request.app.state.services.stores
    if holder.opened is not None:
        return holder.opened
    return await run_in_threadpool(holder.get)  # (re)opening may block: off the event loop


async def get_principal(request: Request) -> Principal:
    """Set by the access middleware before any route runs; routes never see a request without it."""
    principal: Principal = request.state.principal
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[GraphStore, Depends(get_store)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def counted(request: Request, n: int) -> None:
    """Record how many results a request returned, for its audit entry."""
    request.state.result_count = int(n)


def audited(request: Request, **result: str) -> None:
    """Record ids a request created (e.g. an export id), for its audit entry's `params.result`."""
    request.state.audit_result = {**getattr(request.state, "audit_result", {}), **result}

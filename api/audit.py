"""Every request passes one gate (ASGI middleware): body size limit, authentication,
authorisation by the permission table, per-key rate limit; and every request, whatever its
outcome, leaves one entry in the hash-chained audit log (never the key itself). Each step is a
function below; a step that refuses raises `Refusal`, which the gate answers as problem JSON."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AuthError, Principal, RateLimiter, RouteTable, allowed, bearer_token, is_public, pseudonymise
from api.deps import Services
from api.logs import redact
from api.problems import MEDIA_TYPE, problem_body
from casework import AuditLog

logger = logging.getLogger(__name__)

_BODYLESS = {"GET", "HEAD", "DELETE", "OPTIONS"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crumbgraph"'}


def audit_view(entries: list[dict[str, Any]], secret: bytes) -> list[dict[str, Any]]:
    """What an auditor sees of audit entries: account ids pseudonymised."""
    return [pseudonymise(e, secret) for e in entries]


class Refusal(Exception):
    """The gate answers the request itself: `status` with a problem `detail` (and headers)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class Exchange:
    """One request as the gate sees it, and what its audit entry records."""

    method: str  # upper case, as sent (HEAD stays HEAD)
    path: str
    route: str | None  # the template of the permission table it matched, if any
    path_params: dict[str, str]
    started: float = field(default_factory=time.perf_counter)
    body: bytes = b""
    status: int = 500  # until the answer starts: an app that fails before answering is a 500

    @classmethod
    def begin(cls, scope: Scope, routes: RouteTable) -> Exchange:
        method, path = scope["method"].upper(), scope.get("path", "")
        route, path_params = routes.match(method, path)
        return cls(method=method, path=path, route=route, path_params=path_params)

    @property
    def table_method(self) -> str:
        """The method the permission table knows it by (HEAD is GET)."""
        return "GET" if self.method == "HEAD" else self.method

    @property
    def public(self) -> bool:
        return self.route is not None and is_public(self.table_method, self.route)


# -- the steps ---------------------------------------------------------------------------
async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; Refusal(413) past `limit` bytes (declared or received)."""
    too_big = Refusal(413, f"request body larger than {limit} bytes")
    headers = scope.get("headers", [])
    for k, v in headers:
        if k.lower() == b"content-length":
            try:
                if int(v) > limit:
                    raise too_big
            except ValueError:
                raise too_big from None
    if scope["method"].upper() in _BODYLESS and not any(
        k.lower() in (b"content-length", b"transfer-encoding") for k, _ in headers
    ):
        return b""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def authenticate(services: Services, scope: Scope) -> Principal:
    """The caller of a bearer key; Refusal(401) for a missing, unknown or revoked key, and
    Refusal(429) when a client address guesses too fast (argon2 is slow on purpose)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    try:
        token = bearer_token(headers.get("authorization"))
        principal = services.verifier.cached(token)
        if principal is None:
            # A slow argon2 check: rate-limit by client address first, so guessing is costly.
            client = (scope.get("client") or ("?", 0))[0]
            _take(services.limiter, f"addr:{client}", "too many requests")
            principal = await anyio.to_thread.run_sync(services.verifier.verify, token)
    except AuthError as exc:
        raise Refusal(401, str(exc), _CHALLENGE) from None
    return principal


def authorise(principal: Principal, exchange: Exchange) -> None:
    """Deny by default: Refusal(404) for a route outside the permission table, 403 for a route
    the caller's role may not use."""
    if exchange.route is None:
        raise Refusal(404, f"no route {exchange.method} {exchange.path}")
    if not allowed(principal.role, exchange.table_method, exchange.route):
        raise Refusal(403, f"role {str(principal.role)!r} may not {exchange.method} {exchange.route}")


def rate_limit(limiter: RateLimiter, principal: Principal) -> None:
    """Refusal(429) with Retry-After when the caller's key has used up its bucket."""
    _take(limiter, principal.key_id, "rate limit exceeded for this API key")


def _take(limiter: RateLimiter, key: str, detail: str) -> None:
    wait = limiter.take(key)
    if wait:
        raise Refusal(429, detail, {"Retry-After": str(math.ceil(wait))})


def audit_params(exchange: Exchange, scope: Scope, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the audit entry records of a request: the ids it created (`result`, see
    deps.audited), path parameters, query and JSON body, secret-named values redacted."""
    params: dict[str, Any] = {}
    if result:
        params["result"] = dict(result)
    if exchange.path_params:
        params["path"] = {k: str(v) for k, v in exchange.path_params.items()}
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query.setdefault(k, []).append(v)
    if query:
        params["query"] = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
    if exchange.body:
        try:
            params["body"] = json.loads(exchange.body)
        except ValueError:
            params["body_bytes"] = len(exchange.body)
    result_params: dict[str, Any] = redact(params)
    return result_params


def record(audit: AuditLog, exchange: Exchange, scope: Scope, state: dict[str, Any]) -> None:
    """Append the request's audit entry. The answer is already on its way, so a failure here
    cannot change it; it must be loud instead."""
    principal: Principal | None = state.get("principal")
    try:
        audit.append(
            user_name=principal.name if principal else None,
            role=principal.role if principal else None,
            method=exchange.method,
            route=exchange.route or exchange.path,
            params=audit_params(exchange, scope, state.get("audit_result")),
            status=exchange.status,
            result_count=state.get("result_count"),
            duration_ms=(time.perf_counter() - exchange.started) * 1000.0,
        )
    except Exception:
        logger.exception("could not append to the audit log", extra={"route": exchange.route or exchange.path})


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body the gate already read, then the real stream."""
    replayed = False

    async def receive_again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def send_problem(send: Send, refusal: Refusal, instance: str | None) -> None:
    body = json.dumps(problem_body(refusal.status, refusal.detail, instance=instance)).encode()
    raw = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# -- the gate ----------------------------------------------------------------------------
class AccessMiddleware:
    """Gate and audit. Added last, so it runs outermost: even requests refused before routing
    are logged."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.routes = RouteTable()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services: Services = self.fastapi_app.state.services
        exchange = Exchange.begin(scope, self.routes)
        state = scope.setdefault("state", {})

        async def send_watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            await send(message)

        try:
            try:
                await self._admit(services, scope, receive, exchange, state)
            except Refusal as refusal:
                await send_problem(send_watched, refusal, instance=scope.get("path"))
                return
            await self.app(scope, replay(exchange.body, receive), send_watched)
        finally:
            record(services.audit, exchange, scope, state)

    @staticmethod
    async def _admit(
        services: Services, scope: Scope, receive: Receive, exchange: Exchange, state: dict[str, Any]
    ) -> None:
        """The gate's steps in order; any of them may raise Refusal."""
        exchange.body = await read_body(scope, receive, services.settings.api_max_body_bytes)
        if exchange.public:
            return
        principal = await authenticate(services, scope)
        state["principal"] = principal
        authorise(principal, exchange)
        rate_limit(services.limiter, principal)

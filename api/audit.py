"""Every request passes one gate (ASGI middleware): per-address rate limit, body size and JSON
depth limits, authentication, authorisation by the permission table, per-key rate limit; and
every request, whatever its outcome, leaves an entry in the hash-chained audit log (never the
key itself) before it acts or answers. Each step is a function below; a step that refuses
raises `Refusal`, which the gate answers as problem JSON."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AuthError, Principal, RateLimiter, RouteTable, allowed, bearer_token, is_public, pseudonymise
from api.deps import Services
from api.logs import redact
from api.problems import MEDIA_TYPE, problem_body
from casework import AuditLog
from casework.audit import PendingAudit, bound_audit

logger = logging.getLogger(__name__)

_BODYLESS = {"GET", "HEAD", "DELETE", "OPTIONS"}
MAX_AUDIT_TEXT = 256  # characters of any one string an audit entry keeps
UNMATCHED = "(no route)"  # the route of a request outside the route table (its path is not kept)
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
    success_status: int = 200  # what the matched route answers on success
    unrecordable: bool = False  # its audit entry could not be built: it must not act

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
    def audit_route(self) -> str:
        """The route its audit entry names: the template, never a raw path."""
        return self.route or UNMATCHED

    @property
    def public(self) -> bool:
        return self.route is not None and is_public(self.table_method, self.route)


# -- the steps ---------------------------------------------------------------------------
def client_address(scope: Scope) -> str:
    return str((scope.get("client") or ("?", 0))[0])


def limit_address(limiter: RateLimiter, scope: Scope) -> None:
    """Refusal(429) when the client address sends faster than its bucket allows (before the
    body is read or a key is looked at: unauthenticated floods are bounded too)."""
    _take(limiter, f"addr:{client_address(scope)}", "too many requests from this address")


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


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body`, counted without parsing it (brackets
    inside strings do not count), so that no parser ever recurses on a hostile document."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub(b'""', body)):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_depth(body: bytes, limit: int) -> None:
    """Refusal(400) for a body nested deeper than `limit`."""
    if body and json_depth(body) > limit:
        raise Refusal(400, f"request body nested deeper than {limit} levels")


async def authenticate(services: Services, scope: Scope) -> Principal:
    """The caller of a bearer key; Refusal(401) for a missing, unknown or revoked key. A key
    not verified recently costs an argon2 check: Refusal(429) while the client address has used
    up its budget of failed checks, Refusal(503) when no argon2 slot frees up in time. A key
    verified recently passes at once, whatever its address did."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    try:
        token = bearer_token(headers.get("authorization"))
        principal = services.verifier.cached(token)
        if principal is None:
            principal = await _check_key(services, token, f"addr:{client_address(scope)}")
    except AuthError as exc:
        raise Refusal(401, str(exc), _CHALLENGE) from None
    return principal


async def _check_key(services: Services, token: str, address: str) -> Principal:
    """The argon2 check of a key, charged to the address's budget of failures if it fails."""
    wait = services.auth_failures.wait(address)
    if wait:
        raise Refusal(429, "too many failed API keys from this address", _retry_after(wait))
    try:
        return await services.key_checks.verify(token)
    except AuthError:
        services.auth_failures.take(address)
        raise
    except TimeoutError:
        raise Refusal(503, "too many API key checks in progress; try again shortly", {"Retry-After": "2"}) from None


def authorise(principal: Principal, exchange: Exchange) -> None:
    """Deny by default: Refusal(404) for a route outside the permission table, 403 for a route
    the caller's role may not use."""
    if exchange.route is None:
        raise Refusal(404, f"no route {exchange.method} {_clip(exchange.path, 200)}")
    if not allowed(principal.role, exchange.table_method, exchange.route):
        raise Refusal(403, f"role {str(principal.role)!r} may not {exchange.method} {exchange.route}")


def rate_limit(limiter: RateLimiter, principal: Principal) -> None:
    """Refusal(429) with Retry-After when the caller's key has used up its bucket."""
    _take(limiter, principal.key_id, "rate limit exceeded for this API key")


def _retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def _take(limiter: RateLimiter, key: str, detail: str) -> None:
    wait = limiter.take(key)
    if wait:
        raise Refusal(429, detail, _retry_after(wait))


def _clip(text: str, limit: int = MAX_AUDIT_TEXT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…[{len(text)} chars]"


def _clipped(obj: Any) -> Any:
    """Every string in a JSON-like value cut to MAX_AUDIT_TEXT characters."""
    if isinstance(obj, str):
        return _clip(obj)
    if isinstance(obj, dict):
        return {_clip(str(k)): _clipped(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clipped(v) for v in obj]
    return obj


def audit_params(exchange: Exchange, scope: Scope, *, authenticated: bool = True) -> dict[str, Any]:
    """What the audit entry records of a request: path parameters, query and JSON body,
    secret-named values redacted, long strings clipped. A request refused before it was
    authenticated records only its path parameters (clipped): no query, no body. A request
    outside the route table records the length of its path, never the path."""
    params: dict[str, Any] = {}
    if exchange.route is None:
        params["path_chars"] = len(exchange.path)
    if exchange.path_params:
        params["path"] = {k: str(v) for k, v in exchange.path_params.items()}
    if authenticated:
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
    elif exchange.body:
        params["body_bytes"] = len(exchange.body)
    result_params: dict[str, Any] = _clipped(redact(params))
    json.dumps(result_params, default=str)  # fails here, before any action, if it cannot be stored
    return result_params


def pending_entry(exchange: Exchange, scope: Scope, principal: Principal | None) -> PendingAudit:
    """The request's audit entry, built before the request acts; `status` is what it answers
    on success (the route's status code), until the answer says otherwise."""
    try:
        params = audit_params(exchange, scope, authenticated=principal is not None)
    except (ValueError, TypeError, RecursionError):
        logger.error("could not build the audit entry", extra={"route": exchange.audit_route})
        params = {"unrecordable": True, "body_bytes": len(exchange.body)}
        exchange.unrecordable = True
    return PendingAudit(
        user_name=principal.name if principal else None,
        role=principal.role if principal else None,
        method=exchange.method,
        route=exchange.audit_route,
        params=params,
        status=exchange.success_status,
        started=exchange.started,
    )


def record(audit: AuditLog, exchange: Exchange, pending: PendingAudit, state: dict[str, Any]) -> None:
    """Append the request's audit entry as it answers `exchange.status`: the whole entry, or,
    when the action already wrote it inside its own transaction and then answered otherwise, an
    entry naming that one and the real outcome. Raises if the entry cannot be written."""
    if pending.seq is not None:
        if pending.status == exchange.status:
            return
        params: dict[str, Any] = {"outcome_of": pending.seq}
    else:
        params = dict(pending.params)
        if state.get("audit_result"):
            params["result"] = {**params.get("result", {}), **_clipped(dict(state["audit_result"]))}
    audit.append(
        user_name=pending.user_name,
        role=pending.role,
        method=pending.method,
        route=pending.route,
        params=params,
        status=exchange.status,
        result_count=state.get("result_count"),
        duration_ms=(time.perf_counter() - exchange.started) * 1000.0,
    )


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
    await _send_refusal(send, refusal, instance)


async def _send_refusal(send: Send, refusal: Refusal, instance: str | None) -> None:
    body = json.dumps(problem_body(refusal.status, refusal.detail, instance=_clip(instance or "", 200))).encode()
    raw = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# -- the gate ----------------------------------------------------------------------------
_UNRECORDED = Refusal(500, "the request could not be recorded in the audit log, so it was not carried out")


class AccessMiddleware:
    """Gate and audit. Added last, so it runs outermost: even requests refused before routing
    are logged. No audit row, no action: a request's entry is written inside the transaction of
    the state change it makes, or else before the first byte of its answer leaves; an entry that
    cannot be written turns the answer into a 500 problem and nothing is served."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, statuses: dict[tuple[str, str], int]) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.routes = RouteTable()
        self._status = statuses  # (method, template) -> what the route answers on success

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services: Services = self.fastapi_app.state.services
        exchange = Exchange.begin(scope, self.routes)
        exchange.success_status = self._success_status(exchange)
        state = scope.setdefault("state", {})
        sender = AuditedSender(send, services.audit, exchange, state, instance=scope.get("path"))
        try:
            await self._admit(services, scope, receive, exchange, state)
        except Refusal as refusal:
            sender.pending = pending_entry(exchange, scope, state.get("principal"))
            await send_problem(sender, refusal, instance=sender.instance)
            return
        sender.pending = pending_entry(exchange, scope, state["principal"] if not exchange.public else None)
        if exchange.unrecordable:
            await send_problem(sender, _UNRECORDED, instance=sender.instance)
            return
        try:
            with bound_audit(sender.pending):
                await self.app(scope, replay(exchange.body, receive), sender)
        except Exception:
            if sender.started:
                raise
            # The app failed before answering: record the 500 it becomes (the server's error
            # handler answers it); if even that cannot be recorded, answer so here.
            exchange.status = 500
            try:
                record(services.audit, exchange, sender.pending, state)
            except Exception:
                logger.exception("could not append to the audit log", extra={"route": exchange.audit_route})
                await _send_refusal(send, _UNRECORDED, sender.instance)
                return
            raise

    def _success_status(self, exchange: Exchange) -> int:
        """The status code the matched route answers on success (200 if it declares none)."""
        if exchange.route is None:
            return 404
        return self._status.get((exchange.table_method, exchange.route), 200)

    @staticmethod
    async def _admit(
        services: Services, scope: Scope, receive: Receive, exchange: Exchange, state: dict[str, Any]
    ) -> None:
        """The gate's steps in order; any of them may raise Refusal."""
        limit_address(services.address_limiter, scope)
        exchange.body = await read_body(scope, receive, services.settings.api_max_body_bytes)
        check_depth(exchange.body, services.settings.api_max_json_depth)
        if exchange.public:
            return
        principal = await authenticate(services, scope)
        state["principal"] = principal
        authorise(principal, exchange)
        rate_limit(services.limiter, principal)


class AuditedSender:
    """The `send` the app answers through: the first message (the status) waits until the
    request's audit entry is written; if it cannot be, the client gets a 500 problem instead
    and the app's answer is dropped."""

    def __init__(
        self, send: Send, audit: AuditLog, exchange: Exchange, state: dict[str, Any], instance: str | None
    ) -> None:
        self.send, self.audit, self.exchange, self.state, self.instance = send, audit, exchange, state, instance
        self.pending: PendingAudit | None = None
        self.started = False
        self.dropped = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.exchange.status = message["status"]
            assert self.pending is not None
            try:
                record(self.audit, self.exchange, self.pending, self.state)
            except Exception:
                logger.exception("could not append to the audit log", extra={"route": self.exchange.audit_route})
                self.dropped = True
                await _send_refusal(self.send, _UNRECORDED, self.instance)
                return
        elif self.dropped:
            return
        await self.send(message)

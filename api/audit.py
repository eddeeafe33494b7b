"""Every request passes one gate (ASGI middleware): body size limit, authentication,
authorisation by the permission table, per-key rate limit; and every request, whatever its
outcome, leaves one entry in the hash-chained audit log (never the key itself)."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from api.auth import AuthError, RouteTable, allowed, bearer_token, is_public, pseudonymise
from api.problems import MEDIA_TYPE, problem_body

log = logging.getLogger(__name__)

_SECRET_WORDS = ("key", "password", "secret", "token", "authorization")


def redact(obj: Any) -> Any:
    """Drop values whose name suggests a secret, at any depth."""
    if isinstance(obj, dict):
        return {
            k: ("[redacted]" if any(w in str(k).lower() for w in _SECRET_WORDS) else redact(v)) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def audit_view(entries: list[dict[str, Any]], secret: bytes) -> list[dict[str, Any]]:
    """What an auditor sees of audit entries: account ids pseudonymised."""
    return [pseudonymise(e, secret) for e in entries]


async def _send_problem(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None, instance: str | None = None
) -> None:
    body = json.dumps(problem_body(status, detail, instance=instance)).encode()
    raw = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class AccessMiddleware:
    """Gate and audit. Added last, so it runs outermost: even requests refused before routing
    are logged."""

    def __init__(self, app: Any, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.routes = RouteTable()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = self.fastapi_app.state.services
        settings = services.settings
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        method = scope["method"].upper()
        table_method = "GET" if method == "HEAD" else method
        route, path_params = self.routes.match(method, scope.get("path", ""))
        status = {"code": 500}
        body = b""

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        async def refuse(code: int, detail: str, headers: dict[str, str] | None = None) -> None:
            await _send_problem(send_wrapped, code, detail, headers, instance=scope.get("path"))

        try:
            body, too_big = await self._read_body(scope, receive, settings.api_max_body_bytes)
            if too_big:
                await refuse(413, f"request body larger than {settings.api_max_body_bytes} bytes")
                return
            if not (route is not None and is_public(table_method, route)):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
                try:
                    token = bearer_token(headers.get("authorization"))
                    principal = services.verifier.cached(token)
                    if principal is None:
                        # A slow argon2 check: rate-limit by client address first, so guessing is costly.
                        client = (scope.get("client") or ("?", 0))[0]
                        wait = services.limiter.take(f"addr:{client}")
                        if wait:
                            await refuse(429, "too many requests", {"Retry-After": str(math.ceil(wait))})
                            return
                        principal = await anyio.to_thread.run_sync(services.verifier.verify, token)
                except AuthError as exc:
                    await refuse(401, str(exc), {"WWW-Authenticate": 'Bearer realm="crumbgraph"'})
                    return
                state["principal"] = principal
                if route is None:  # deny by default: nothing outside the permission table is served
                    await refuse(404, f"no route {method} {scope.get('path', '')}")
                    return
                if not allowed(principal.role, table_method, route):
                    await refuse(403, f"role {principal.role!r} may not {method} {route}")
                    return
                wait = services.limiter.take(principal.key_id)
                if wait:
                    await refuse(429, "rate limit exceeded for this API key", {"Retry-After": str(math.ceil(wait))})
                    return

            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send_wrapped)
        finally:
            principal = state.get("principal")
            try:
                services.state.append_audit(
                    user_name=principal.name if principal else None,
                    role=principal.role if principal else None,
                    method=method,
                    route=route or scope.get("path", ""),
                    params=self._params(scope, path_params, body, state.get("audit_result")),
                    status=status["code"],
                    result_count=state.get("result_count"),
                    duration_ms=(time.perf_counter() - started) * 1000.0,
                )
            except Exception:  # the answer is already on its way; losing an entry must be loud
                log.exception("could not append to the audit log")

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, bool]:
        for k, v in scope.get("headers", []):
            if k.lower() == b"content-length":
                try:
                    if int(v) > limit:
                        return b"", True
                except ValueError:
                    return b"", True
        if scope["method"].upper() in {"GET", "HEAD", "DELETE", "OPTIONS"} and not any(
            k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope.get("headers", [])
        ):
            return b"", False
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False

    @staticmethod
    def _params(
        scope: Scope, path_params: dict[str, Any], body: bytes, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if result:  # ids the request created (deps.audited), e.g. {"export_id": ...}
            params["result"] = dict(result)
        if path_params:
            params["path"] = {k: str(v) for k, v in path_params.items()}
        query: dict[str, Any] = {}
        for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            query.setdefault(k, []).append(v)
        if query:
            params["query"] = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
        if body:
            try:
                params["body"] = json.loads(body)
            except ValueError:
                params["body_bytes"] = len(body)
        return redact(params)

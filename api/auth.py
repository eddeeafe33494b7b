"""Who may do what: API keys (argon2-hashed, looked up by key id, verified once then cached),
the role x route permission table (deny by default), per-key rate limits, and the keyed
pseudonyms auditors see instead of account ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.routing import compile_path

from casework import Role, User, UserStore
from detectors.results import ResultModel, map_account_ids

# short names for the table below; the roles themselves are casework.Role
INVESTIGATOR, LAW_ENFORCEMENT, AUDITOR, ADMIN = Role.INVESTIGATOR, Role.LAW_ENFORCEMENT, Role.AUDITOR, Role.ADMIN
PUBLIC: frozenset[str] = frozenset({"*"})  # answers without a key
ANY_ROLE: frozenset[str] = frozenset(Role)


def _r(*roles: Role) -> frozenset[str]:
    return frozenset(roles)


#: The one role x route table. (method, route template) -> roles allowed. A route missing
#: here is denied to everyone (tests assert every route of the app is listed).
PERMISSIONS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): PUBLIC,
    # the console's page and static files hold no data; every call they make is role-checked
    ("GET", "/ui"): PUBLIC,
    ("GET", "/ui/{name}"): PUBLIC,
    ("GET", "/me"): ANY_ROLE,
    ("GET", "/openapi.json"): ANY_ROLE,
    # runs and results
    ("GET", "/runs"): _r(INVESTIGATOR, AUDITOR),
    ("POST", "/runs"): _r(INVESTIGATOR),
    ("GET", "/run-jobs/{job_id}"): _r(INVESTIGATOR),
    ("GET", "/runs/{run_id}"): _r(INVESTIGATOR, AUDITOR),
    ("GET", "/runs/{run_id}/results"): _r(INVESTIGATOR, AUDITOR),
    ("GET", "/runs/{run_id}/pathways"): _r(INVESTIGATOR),
    ("GET", "/runs/{run_id}/pathways/{pathway_id}"): _r(INVESTIGATOR),
    ("GET", "/runs/{run_id}/clusters"): _r(INVESTIGATOR),
    ("GET", "/runs/{run_id}/clusters/{cluster_id}"): _r(INVESTIGATOR),
    ("GET", "/runs/{run_id}/flagged-accounts"): _r(INVESTIGATOR),
    # accounts
    ("GET", "/accounts/{account_id}"): _r(INVESTIGATOR),
    ("GET", "/accounts/{account_id}/pathways"): _r(INVESTIGATOR),
    ("GET", "/accounts/{account_id}/neighbourhood"): _r(INVESTIGATOR),
    # cases (law enforcement: read, and only what is shared with them)
    ("GET", "/cases"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("POST", "/cases"): _r(INVESTIGATOR),
    ("GET", "/cases/{case_id}"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("PATCH", "/cases/{case_id}"): _r(INVESTIGATOR),
    ("POST", "/cases/{case_id}/items"): _r(INVESTIGATOR),
    ("POST", "/cases/{case_id}/notes"): _r(INVESTIGATOR),
    ("GET", "/cases/{case_id}/history"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("POST", "/cases/{case_id}/shares"): _r(INVESTIGATOR),
    ("DELETE", "/cases/{case_id}/shares/{user_name}"): _r(INVESTIGATOR),
    # administration
    ("GET", "/users"): _r(ADMIN),
    ("POST", "/users"): _r(ADMIN),
    ("DELETE", "/users/{name}"): _r(ADMIN),
    ("POST", "/ingest"): _r(ADMIN),
    ("GET", "/ingest/{job_id}"): _r(ADMIN),
    ("GET", "/config"): _r(ADMIN),
    # audit
    ("GET", "/audit"): _r(AUDITOR),
    ("GET", "/audit/verify"): _r(AUDITOR),
    # evidence (issue 6): officers verify with the public key; investigators export; law
    # enforcement fetches only exports of cases shared with it (checked in api.exports)
    ("GET", "/keys/public"): ANY_ROLE,
    ("POST", "/cases/{case_id}/exports"): _r(INVESTIGATOR),
    ("GET", "/exports/{export_id}"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("GET", "/exports/{export_id}/package"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("GET", "/exports/{export_id}/report"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("GET", "/cases/{case_id}/exports"): _r(INVESTIGATOR, LAW_ENFORCEMENT),
    ("POST", "/runs/{run_id}/rerun"): _r(AUDITOR),
    # jobs everyone who works with runs can see (who started what, state, progress)
    ("GET", "/jobs"): _r(INVESTIGATOR, AUDITOR, ADMIN),
    # a run's results into the Neo4j store (docs/neo4j.md)
    ("POST", "/runs/{run_id}/publish"): _r(INVESTIGATOR),
    ("DELETE", "/runs/{run_id}/publish"): _r(INVESTIGATOR),
}


class RouteTable:
    """Matches a request (method, path) to a template of PERMISSIONS, before FastAPI routes it,
    so that authentication and authorisation happen before anything reads the body."""

    def __init__(self, permissions: dict[tuple[str, str], frozenset[str]] = PERMISSIONS) -> None:
        self._compiled = [(method, template, compile_path(template)[0]) for method, template in permissions]

    def match(self, method: str, path: str) -> tuple[str | None, dict[str, str]]:
        """(template, path params) of the matching entry, or (None, {})."""
        method = "GET" if method.upper() == "HEAD" else method.upper()
        for m, template, regex in self._compiled:
            if m == method:
                found = regex.match(path)
                if found:
                    return template, found.groupdict()
        return None, {}


def allowed(role: str | None, method: str, route: str) -> bool:
    """Deny by default: only what the table grants."""
    roles = PERMISSIONS.get((method.upper(), route))
    if roles is None:
        return False
    return roles is PUBLIC or (role is not None and role in roles)


def is_public(method: str, route: str) -> bool:
    return PERMISSIONS.get((method.upper(), route)) is PUBLIC


# -- API keys --------------------------------------------------------------------------
KEY_RE = re.compile(r"^cg_([0-9a-f]{16})_([A-Za-z0-9_-]{20,128})$")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: Role
    key_id: str


class AuthError(Exception):
    """Missing, malformed, unknown, wrong or revoked key (HTTP 401). The message never holds the key."""


def new_key() -> tuple[str, str]:
    """A fresh API key and its key id: `cg_<16 hex>_<secret>`."""
    key_id = secrets.token_hex(8)
    return f"cg_{key_id}_{secrets.token_urlsafe(32)}", key_id


def create_user(users: UserStore, name: str, role: str, hasher: PasswordHasher | None = None) -> tuple[User, str]:
    """Add a user with a fresh key; returns the user and the key (shown once, stored only hashed)."""
    key, key_id = new_key()
    user = users.add_user(name, role, key_id, (hasher or PasswordHasher()).hash(key))
    return user, key


class KeyVerifier:
    """Verifies bearer keys. argon2 runs once per key per `ttl` seconds; in between, the cache
    maps sha256(key) to its key id, and the user row is still read on every request, so a
    revocation takes effect at once (even one made by another process)."""

    def __init__(
        self,
        users: UserStore,
        ttl: float = 60.0,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.monotonic,
        negative_ttl: float = 5.0,
    ) -> None:
        self._users = users
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}
        self._refused: dict[str, float] = {}  # sha256(key) -> until when it is refused without argon2
        self._lock = threading.Lock()

    def refused(self, key: str) -> bool:
        """Was this exact key refused in the last `negative_ttl` seconds? (No argon2 again.)"""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            until = self._refused.get(digest)
        return until is not None and until >= self._clock()

    def _refuse(self, key: str, message: str) -> AuthError:
        with self._lock:
            if len(self._refused) > 10_000:
                self._refused.clear()
            self._refused[hashlib.sha256(key.encode()).hexdigest()] = self._clock() + self._negative_ttl
        return AuthError(message)

    def cached(self, key: str) -> Principal | None:
        """The principal if this key was verified recently and is still active; no argon2."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is None or hit[1] < self._clock():
            return None
        user = self._users.user_by_key_id(hit[0])
        if user is None or not user.active:
            raise AuthError("API key revoked")
        return Principal(user.name, user.role, user.key_id)

    def verify(self, key: str) -> Principal:
        """Full check (slow: argon2); call `cached` first."""
        hit = self.cached(key)
        if hit is not None:
            return hit
        m = KEY_RE.match(key)
        if m is None:
            raise AuthError("malformed API key")
        if self.refused(key):
            raise AuthError("unknown API key")
        user = self._users.user_by_key_id(m.group(1))
        if user is None:
            raise AuthError("unknown API key")
        try:
            self._hasher.verify(user.key_hash, key)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise self._refuse(key, "unknown API key") from None
        if not user.active:
            raise AuthError("API key revoked")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[hashlib.sha256(key.encode()).hexdigest()] = (user.key_id, self._clock() + self._ttl)
        return Principal(user.name, user.role, user.key_id)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._refused.clear()


class KeyChecks:
    """The argon2 checks of keys not verified recently, off the event loop and at most `slots`
    at once (argon2 is slow on purpose: unbounded, concurrent wrong keys would take every CPU
    from the requests of everyone else). A check that waits longer than `wait` seconds for a
    slot raises TimeoutError (HTTP 503); a key refused moments ago is refused at once."""

    def __init__(self, verifier: KeyVerifier, slots: int = 0, wait: float = 10.0) -> None:
        self._verifier = verifier
        self.slots = slots if slots > 0 else max(1, (os.cpu_count() or 2) // 2)
        self._wait = wait
        self._semaphore: anyio.Semaphore | None = None

    async def verify(self, key: str) -> Principal:
        if self._verifier.refused(key):
            raise AuthError("unknown API key")
        if self._semaphore is None:  # made on first use, inside the server's event loop
            self._semaphore = anyio.Semaphore(self.slots)
        with anyio.fail_after(self._wait):
            await self._semaphore.acquire()
        try:
            return await anyio.to_thread.run_sync(self._verifier.verify, key)
        finally:
            self._semaphore.release()


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing Authorization: Bearer <API key>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("expected Authorization: Bearer <API key>")
    return token.strip()


# -- rate limits -----------------------------------------------------------------------
class RateLimiter:
    """A token bucket per key: `rate` tokens a second, at most `burst` saved up."""

    MAX_BUCKETS = 10_000

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if the request may go ahead (a token is used), else the seconds until a token is available."""
        return self._bucket(key, take=True)

    def wait(self, key: str) -> float:
        """`take` without using a token: 0.0 if one is there."""
        return self._bucket(key, take=False)

    def _bucket(self, key: str, *, take: bool) -> float:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0 if take else tokens, now)
                self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled (bounded memory under many keys or addresses)."""
        if len(self._buckets) > self.MAX_BUCKETS:
            self._buckets = {
                k: (t, last) for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate < self.burst
            }


# -- pseudonyms for auditors -----------------------------------------------------------
def pseudonym(secret: bytes, account_id: str) -> str:
    """A stable keyed pseudonym: the same account always maps to the same value under one secret,
    and nobody without the secret can test a guess."""
    return "acct_" + hmac.new(secret, str(account_id).encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise_result(item: ResultModel, secret: bytes) -> ResultModel:
    """A results item (pathway, cluster, flagged account, …) as an auditor sees it: every field
    the results schema marks as an account id (detectors.results.AccountId, NodeId), and every
    unmarked string, pseudonymised."""
    return map_account_ids(item, lambda account_id: pseudonym(secret, account_id))  # type: ignore[return-value]


_ACCOUNT_LIST_KEYS = {"accounts"}
_ACCOUNT_KEYS = {"account_id"}


def pseudonymise(obj: Any, secret: bytes) -> Any:
    """Replace every account id in a JSON-like value that is not a results item (audit entries,
    run records; results items go through `pseudonymise_result`): values of `account_id`, members of
    `accounts`, and `id`/`src_id`/`dst_id` whose matching kind is `account`."""
    if isinstance(obj, list):
        return [pseudonymise(v, secret) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if k in _ACCOUNT_KEYS and isinstance(v, str):
            out[k] = pseudonym(secret, v)
        elif k in _ACCOUNT_LIST_KEYS and isinstance(v, list):
            out[k] = [pseudonym(secret, a) if isinstance(a, str) else a for a in v]
        else:
            out[k] = pseudonymise(v, secret)
    if obj.get("kind") == "account" and isinstance(obj.get("id"), str):
        out["id"] = pseudonym(secret, obj["id"])
    for end in ("src", "dst"):
        if obj.get(f"{end}_kind") == "account" and isinstance(obj.get(f"{end}_id"), str):
            out[f"{end}_id"] = pseudonym(secret, obj[f"{end}_id"])
    return out

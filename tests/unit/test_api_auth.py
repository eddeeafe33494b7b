"""API auth and paging as libraries: keys, rate limits, pseudonyms, the permission table,
result paging. No server, no graph store. (Cases and the audit chain: tests/unit/test_casework.py.)"""

from __future__ import annotations

import pytest

from api.auth import (
    PERMISSIONS,
    PUBLIC,
    AuthError,
    KeyVerifier,
    RateLimiter,
    RouteTable,
    allowed,
    create_user,
    pseudonym,
    pseudonymise,
)
from casework import open_casework
from tests.api_support import FAST_HASHER


@pytest.fixture
def users(tmp_path):
    with open_casework(tmp_path) as casework:
        yield casework.users


# -- keys ------------------------------------------------------------------------------
def test_key_verification_cache_and_revocation(users):
    user, key = create_user(users, "alice", "investigator", FAST_HASHER)
    assert user.key_hash != key and key not in user.key_hash
    clock = [0.0]
    verifier = KeyVerifier(users, ttl=30, clock=lambda: clock[0])
    assert verifier.cached(key) is None
    assert verifier.verify(key).role == "investigator"
    assert verifier.cached(key).name == "alice"
    clock[0] = 31.0
    assert verifier.cached(key) is None  # expired: argon2 again next time
    users.revoke_user("alice")
    with pytest.raises(AuthError):
        verifier.verify(key)
    with pytest.raises(AuthError):
        verifier.verify(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_rate_limiter_token_bucket():
    clock = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: clock[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    assert limiter.take("other") == 0.0
    clock[0] = 0.5
    assert limiter.take("k") == 0.0


def test_pseudonyms_are_keyed_and_stable():
    doc = {
        "account_id": "a1",
        "accounts": ["a1", "a2"],
        "nodes": [{"kind": "account", "id": "a1"}, {"kind": "content", "id": "c1"}],
    }
    out = pseudonymise(doc, b"s1")
    assert out["account_id"] == pseudonym(b"s1", "a1") == out["accounts"][0] == out["nodes"][0]["id"]
    assert out["nodes"][1]["id"] == "c1"
    assert pseudonym(b"s2", "a1") != pseudonym(b"s1", "a1")
    assert "a1" not in str(out)


def test_permission_table_denies_by_default():
    assert allowed("admin", "GET", "/users") and not allowed("investigator", "GET", "/users")
    assert not allowed("admin", "GET", "/no/such/route")
    assert allowed(None, "GET", "/health") and PERMISSIONS[("GET", "/health")] is PUBLIC
    assert RouteTable().match("GET", "/runs/r1/pathways") == ("/runs/{run_id}/pathways", {"run_id": "r1"})
    assert RouteTable().match("PUT", "/runs/r1") == (None, {})

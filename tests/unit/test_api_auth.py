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


# -- bounded argon2 work (issue 11, item 10) ---------------------------------------------
class _CountingHasher(type(FAST_HASHER)):  # type: ignore[misc]
    """The real argon2 hasher, counting how many checks run at once and in all."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=1024, parallelism=1)
        import threading

        self.lock, self.now, self.most, self.calls = threading.Lock(), 0, 0, 0

    def verify(self, hash, password):
        with self.lock:
            self.now += 1
            self.calls += 1
            self.most = max(self.most, self.now)
        try:
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.now -= 1


def _run_async(main) -> None:
    """anyio.run in a thread of its own (another test may leave an event loop in this one)."""
    import threading

    import anyio

    failure: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def test_concurrent_wrong_keys_run_argon2_at_most_slots_at_once_and_repeats_not_at_all(users):
    import anyio

    from api.auth import KeyChecks

    _, key = create_user(users, "alice", "investigator", FAST_HASHER)
    hasher = _CountingHasher()
    checks = KeyChecks(KeyVerifier(users, hasher=hasher, negative_ttl=60), slots=2, wait=30)
    wrong = [key[:-6] + f"{i:06d}" for i in range(12)]
    refused: list[str] = []

    async def one(k: str) -> None:
        try:
            await checks.verify(k)
        except AuthError:
            refused.append(k)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for k in wrong:
                tg.start_soon(one, k)
        for k in wrong:  # the same wrong keys again: refused from the negative cache
            await one(k)

    _run_async(main)
    assert len(refused) == 24 and hasher.calls == 12 and 1 <= hasher.most <= 2


def test_a_slot_not_freed_in_time_is_a_timeout(users):
    import anyio

    from api.auth import KeyChecks

    _, key = create_user(users, "bob", "investigator", FAST_HASHER)
    checks = KeyChecks(KeyVerifier(users, hasher=FAST_HASHER), slots=1, wait=0.01)

    async def main() -> None:
        checks._semaphore = anyio.Semaphore(1)
        await checks._semaphore.acquire()  # another check holds the only slot
        with pytest.raises(TimeoutError):
            await checks.verify(key)

    _run_async(main)

"""Hardening of the server (issue 11), each against a real server on loopback: no audit row, no
action (deep JSON, an audit log that refuses writes, SIGKILL under concurrent writes), the
unauthenticated flood, the per-address budget of failed keys. All data is synthetic."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api.audit import MAX_AUDIT_TEXT, UNMATCHED
from casework import STATE_FILE, open_casework
from graph.embedded import EmbeddedStore
from tests.api_support import ApiEnv, app_for, make_env
from tests.live import serving, serving_process

CASE = {"title": "t", "note": "n", "items": [{"kind": "account", "id": "a1"}]}


@contextmanager
def live(tmp_path: Path, **overrides: object) -> Iterator[tuple[ApiEnv, str]]:
    env = make_env(tmp_path, "h-", **overrides)
    store = EmbeddedStore(tmp_path / "g.duckdb")
    try:
        with serving(app_for(env, store), timeout=30) as base:
            yield env, base
    finally:
        store.close()


def _db(env: ApiEnv) -> sqlite3.Connection:
    con = sqlite3.connect(env.settings.state_dir / STATE_FILE, isolation_level=None)
    con.row_factory = sqlite3.Row
    return con


def _checkpointed_size(env: ApiEnv) -> int:
    """Bytes of the state DB once its WAL is folded in (the WAL itself is reused, not grown)."""
    con = _db(env)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return (env.settings.state_dir / STATE_FILE).stat().st_size


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_json_is_refused_before_parsing_and_still_audited(tmp_path):
    """Item 1: a body nested 600 deep made building the audit entry fail and the request was
    served anyway (a user created, a case shared, no audit row). Now: 400, nothing changes,
    the refusal has its row, the chain verifies."""
    with live(tmp_path) as (env, base):
        admin = env.auth("admin")
        body = '{"name": "mallory", "role": "admin", "x": ' + _nested(600) + "}"
        resp = httpx.post(f"{base}/users", headers={**admin, "content-type": "application/json"}, content=body)
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"] == "application/problem+json" and "nested deeper" in resp.json()["detail"]
        case = httpx.post(f"{base}/cases", headers=env.auth("investigator"), json=CASE).json()
        share = '{"user_name": "law_enforcement", "note": "n", "x": ' + _nested(600) + "}"
        resp = httpx.post(
            f"{base}/cases/{case['case_id']}/shares",
            headers={**env.auth("investigator"), "content-type": "application/json"},
            content=share,
        )
        assert resp.status_code == 400
        shallow = '{"name": "ok-user", "role": "auditor", "x": ' + _nested(20) + "}"
        assert httpx.post(f"{base}/users", headers={**admin, "content-type": "application/json"}, content=shallow)
        verified = httpx.get(f"{base}/audit/verify", headers=env.auth("auditor")).json()
    with open_casework(env.settings.state_dir) as cw:
        assert cw.users.find_user("mallory") is None and cw.users.find_user("ok-user") is not None
        assert cw.cases.get_case(case["case_id"])["shared_with"] == []
        rows = [(e["method"], e["route"], e["status"]) for e in cw.audit.entries(limit=1000)]
        assert cw.audit.verify().ok and verified["ok"]
    assert rows.count(("POST", "/users", 400)) == 1 and ("POST", "/cases/{case_id}/shares", 400) in rows
    assert ("POST", "/users", 201) in rows


def test_no_audit_row_no_action(tmp_path):
    """Item 1's rule: when the audit log refuses the write (a real SQLite trigger stands in for
    a full disk), the request answers a 500 problem and nothing changes, reads serve nothing."""
    with live(tmp_path) as (env, base):
        inv = env.auth("investigator")
        kept = httpx.post(f"{base}/cases", headers=inv, json=CASE).json()["case_id"]
        con = _db(env)
        con.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        try:
            created = httpx.post(f"{base}/cases", headers=inv, json=CASE)
            noted = httpx.post(f"{base}/cases/{kept}/notes", headers=inv, json={"note": "unaudited"})
            listed = httpx.get(f"{base}/cases", headers=inv)
            refused = httpx.get(f"{base}/cases")
        finally:
            con.execute("DROP TRIGGER refuse")
        for resp in (created, noted, listed, refused):
            assert resp.status_code == 500, resp.text
            assert resp.headers["content-type"] == "application/problem+json"
            assert "audit log" in resp.json()["detail"]
        assert kept not in listed.text
        assert httpx.get(f"{base}/cases", headers=inv).json()["items"][0]["case_id"] == kept
    with open_casework(env.settings.state_dir) as cw:
        assert [c["case_id"] for c in cw.cases.list_cases()] == [kept]
        assert [h["action"] for h in cw.cases.case_history(kept)] == ["created"]
        assert cw.audit.verify().ok


def test_sigkill_under_concurrent_case_creation_leaves_no_case_without_its_audit_row(tmp_path):
    """Item 3: `crumbgraph serve` killed with SIGKILL while 8 clients create cases: every case
    committed has its audit row (the same transaction), naming it, and the chain verifies."""
    env = make_env(tmp_path, "k-")
    proc_env = {
        **os.environ,
        "CRUMBGRAPH_STORE": f"embedded:{tmp_path}/g.duckdb",
        "CRUMBGRAPH_STATE_DIR": str(env.settings.state_dir),
        "CRUMBGRAPH_RUNS_DIR": str(tmp_path / "runs"),
        "CRUMBGRAPH_API_RATE_LIMIT": "100000",
        "CRUMBGRAPH_API_RATE_BURST": "100000",
    }
    stop = threading.Event()
    answered: list[int] = []

    def client() -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                try:
                    answered.append(http.post(f"{base}/cases", headers=env.auth("investigator"), json=CASE).status_code)
                except httpx.HTTPError:
                    return

    with serving_process(proc_env) as (base, server):
        workers = [threading.Thread(target=client) for _ in range(8)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while answered.count(201) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        stop.set()
        for w in workers:
            w.join()
    with open_casework(env.settings.state_dir) as cw:
        cases = {c["case_id"] for c in cw.cases.list_cases()}
        audited = [e for e in cw.audit.entries(limit=100_000) if e["route"] == "/cases" and e["method"] == "POST"]
        assert cw.audit.verify().ok
    created = [e for e in audited if e["status"] == 201]
    assert len(cases) >= 40 and len(created) == len(cases)
    assert {e["params"].get("result", {}).get("case_id") for e in created} == cases


def test_unauthenticated_flood_is_rate_limited_and_records_little(tmp_path):
    """Item 4: 300 requests without a key, with 8 KB paths (matched and unmatched) and bodies:
    the address bucket answers 429 past its burst, and the state DB grows by a bounded amount
    (no raw path, no body, strings clipped)."""
    with live(tmp_path, api_address_rate_limit=2.0, api_address_rate_burst=60) as (env, base):
        before = _checkpointed_size(env)
        codes, t0 = [], time.monotonic()
        with httpx.Client() as http:
            for i in range(300):
                path = f"/cases/{'x' * 8000}" if i % 2 else f"/{'y' * 8000}"
                method = "GET" if i % 2 else "POST"
                codes.append(http.request(method, f"{base}{path}", content=b"z" * 30_000).status_code)
        admitted = 60 + 2.0 * (time.monotonic() - t0) + 1  # the burst, and what refilled meanwhile
        grown = _checkpointed_size(env) - before
        assert len(codes) - codes.count(429) <= admitted and set(codes) <= {401, 404, 429}
        assert grown < 300 * 1024, grown  # was 60 KB and more per request
    with open_casework(env.settings.state_dir) as cw:
        rows = cw.audit.entries(limit=1000)
    assert len(rows) == 300 and all(len(json.dumps(e["params"])) < MAX_AUDIT_TEXT + 200 for e in rows)
    assert {e["route"] for e in rows} == {"/cases/{case_id}", UNMATCHED}
    assert not any("y" * 100 in json.dumps(e) or "body" in e["params"] for e in rows)


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=20)


def test_failed_keys_from_one_address_do_not_lock_out_valid_keys(tmp_path):
    """Item 10: a flood of wrong secrets for a real key id from 127.0.0.2 spends that address's
    budget (429 there), while a valid key from 127.0.0.3 passes, and a key verified before passes
    even from the flooding address."""
    with live(tmp_path, api_auth_failure_burst=5, api_auth_failure_rate=0.01) as (env, base):
        inv_key, le_key = env.keys["investigator"], env.keys["law_enforcement"]
        with _from("127.0.0.2") as attacker:
            assert attacker.get(f"{base}/me", headers={"Authorization": f"Bearer {inv_key}"}).status_code == 200
            wrong = [f"Bearer {le_key[:-8]}{i:08d}" for i in range(30)]
            codes = [attacker.get(f"{base}/me", headers={"Authorization": w}).status_code for w in wrong]
            assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
            assert attacker.get(f"{base}/me", headers={"Authorization": f"Bearer {inv_key}"}).status_code == 200
        with _from("127.0.0.3") as officer:
            assert officer.get(f"{base}/me", headers={"Authorization": f"Bearer {le_key}"}).status_code == 200


@pytest.mark.parametrize("depth, status", [(32, 422), (33, 400)])
def test_json_depth_limit_is_exact(tmp_path, depth, status):
    with live(tmp_path) as (env, base):
        body = '{"title": "t", "note": "n", "items": ' + _nested(depth - 1) + "}"
        resp = httpx.post(
            f"{base}/cases", headers={**env.auth("investigator"), "content-type": "application/json"}, content=body
        )
        assert resp.status_code == status, resp.text


def test_auditor_sees_no_raw_account_id_on_any_route_or_section(tmp_path, tmp_path_factory):
    """Item 2: every route the auditor may call (taken from the permission table, so a new one
    is covered), every results section paged to its end, a re-run, and the audit log after an
    investigator's requests naming accounts: no account id of the run appears raw."""
    from api.auth import AUDITOR, PERMISSIONS, PUBLIC
    from detectors.results import Section
    from evidence.signing import init_keys
    from tests.api_support import real_run

    env = make_env(tmp_path, "p-")
    init_keys(env.settings.keys_dir)
    run = real_run(env.settings.runs_dir, tmp_path_factory)
    folder = env.settings.runs_dir / run["run_id"]
    raw = (folder / "results.json").read_text()
    accounts = set(re.findall(r'"(a\d{7})"', raw))
    assert len(accounts) > 50
    store = EmbeddedStore(tmp_path / "g.duckdb")
    store.ensure_schema()
    store.save_run(run["run_id"], json.loads((folder / "run.json").read_text()), raw.encode())
    some = sorted(accounts)[:3]
    try:
        with serving(app_for(env, store), timeout=30) as base, httpx.Client(timeout=120) as http:
            inv = env.auth("investigator")
            for a in some:  # the audit log now holds these ids in paths, queries and bodies
                http.get(f"{base}/accounts/{a}", headers=inv)
                http.get(f"{base}/runs/latest/pathways", params={"account_id": a}, headers=inv)
                http.post(f"{base}/cases", headers=inv, json={**CASE, "items": [{"kind": "account", "id": a}]})
            seen = []
            for (method, template), roles in sorted(PERMISSIONS.items()):
                if roles is PUBLIC or AUDITOR not in roles:
                    continue
                path = template.replace("{run_id}", run["run_id"])
                for extra in [{}] if template != "/runs/{run_id}/results" else [{"section": s} for s in Section]:
                    resp = http.request(method, f"{base}{path}", params={**extra}, headers=env.auth("auditor"))
                    assert resp.status_code in (200, 422), (template, extra, resp.text[:300])
                    seen.append(resp.text)
                    cursor = resp.json().get("next_cursor") if resp.status_code == 200 else None
                    while cursor:
                        resp = http.get(
                            f"{base}{path}",
                            params={**extra, "cursor": cursor, "limit": 500},
                            headers=env.auth("auditor"),
                        )
                        seen.append(resp.text)
                        cursor = resp.json().get("next_cursor")
    finally:
        store.close()
    text = "\n".join(seen)
    assert "acct_" in text and "pw-" in text  # pseudonyms shown, pathway ids kept
    leaked = sorted(a for a in accounts if a in text)
    assert leaked == [], leaked[:10]


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_exports_state_and_errors_hold_no_more_than_they_must(tmp_path, tmp_path_factory):
    """Item 10: the state dir is 0700 and the state DB, WAL and SHM 0600; export packages 0700/0600;
    exports per case are capped (409) and half-written packages cleaned up; `rerun latest` is
    the run `latest` names elsewhere; no error text names a server folder."""
    from evidence.signing import init_keys
    from tests.api_support import real_run

    env = make_env(tmp_path, "x-", api_exports_per_case=2)
    init_keys(env.settings.keys_dir)
    run = real_run(env.settings.runs_dir, tmp_path_factory)
    folder = env.settings.runs_dir / run["run_id"]
    stale = env.settings.exports_dir / ".tmp-deadbeef"
    stale.mkdir(parents=True)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    store = EmbeddedStore(tmp_path / "g.duckdb")
    store.ensure_schema()
    store.save_run(run["run_id"], json.loads((folder / "run.json").read_text()), (folder / "results.json").read_bytes())
    items = [{"kind": "pathway", "id": p["pathway_id"]} for p in run["results"]["pathways"][:2]]
    try:
        with serving(app_for(env, store), timeout=30) as base, httpx.Client(timeout=120) as http:
            inv = env.auth("investigator")
            case = http.post(f"{base}/cases", headers=inv, json={**CASE, "items": items, "run_id": run["run_id"]})
            path = f"{base}/cases/{case.json()['case_id']}/exports"
            codes = [http.post(path, headers=inv).status_code for _ in range(3)]
            capped = http.post(path, headers=inv).json()["detail"]
            latest = http.post(f"{base}/runs/latest/rerun", headers=env.auth("auditor"))
            errors = [
                http.post(f"{base}/runs/no-such-run/rerun", headers=env.auth("auditor")),
                http.get(f"{base}/runs/no-such-run/results", headers=env.auth("auditor")),
                http.get(f"{base}/exports/no-such-export", headers=inv),
            ]
            state = env.settings.state_dir  # while the server holds it open: the WAL and SHM exist
            modes = [_mode(state), *(_mode(state / (STATE_FILE + s)) for s in ("", "-wal", "-shm"))]
    finally:
        store.close()
    assert codes == [201, 201, 409] and "already has 2 exports" in capped
    assert latest.status_code == 200 and latest.json()["run_id"] == run["run_id"]
    assert [e.status_code for e in errors] == [404, 404, 404]
    assert not any(str(tmp_path) in e.text or "/tmp" in e.text for e in errors), [e.text for e in errors]
    assert not stale.exists()
    assert modes == [0o700, 0o600, 0o600, 0o600]
    packages = [p for p in env.settings.exports_dir.iterdir() if not p.name.startswith(".")]
    assert len(packages) == 2 and _mode(env.settings.exports_dir) == 0o700
    for p in [q for pkg in packages for q in [pkg, *pkg.rglob("*")]]:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_an_officer_does_not_learn_whom_else_a_case_is_shared_with(tmp_path):
    """Item 10: law-enforcement users see themselves in `shared_with`, never another officer's
    name (in the case, the list and the history); investigators see everyone."""
    with live(tmp_path) as (env, base):
        inv = env.auth("investigator")
        case_id = httpx.post(f"{base}/cases", headers=inv, json=CASE).json()["case_id"]
        for officer in ("law_enforcement", "le2"):
            share = {"user_name": officer, "note": "n"}
            assert httpx.post(f"{base}/cases/{case_id}/shares", headers=inv, json=share).status_code == 200
        le = env.auth("law_enforcement")
        seen = [
            httpx.get(f"{base}/cases/{case_id}", headers=le).json(),
            httpx.get(f"{base}/cases", headers=le).json()["items"][0],
        ]
        history = httpx.get(f"{base}/cases/{case_id}/history", headers=le).text
        full = httpx.get(f"{base}/cases/{case_id}", headers=inv).json()
    assert [c["shared_with"] for c in seen] == [["law_enforcement"], ["law_enforcement"]]
    assert "le2" not in history and "law_enforcement" in history
    assert full["shared_with"] == ["law_enforcement", "le2"]

"""Casework as a library: the audit chain and its tampering, the case workflow (transitions,
notes, assignment, sharing, visibility), users; over the SQLite state file. No server."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict

import pytest

from api.auth import create_user
from casework import STATE_FILE, AuditLog, CaseStatus, Role, UserStore, open_casework
from casework.audit import audit_entry_hash
from graph.errors import Conflict, InvalidRequest, NotFound
from tests.api_support import FAST_HASHER


@pytest.fixture
def casework(tmp_path):
    with open_casework(tmp_path) as cw:
        yield cw


def _fill_audit(audit: AuditLog, n: int) -> None:
    for i in range(n):
        audit.append(
            user_name="alice",
            role="investigator",
            method="GET",
            route="/accounts/{account_id}",
            params={"path": {"account_id": f"a{i}"}},
            status=200,
            result_count=1,
            duration_ms=1.0,
        )


def _raw(tmp_path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)


# -- audit chain -----------------------------------------------------------------------
def test_intact_chain_verifies(casework):
    _fill_audit(casework.audit, 5)
    finding = casework.audit.verify()
    assert (finding.ok, finding.entries, finding.head_seq) == (True, 5, 5)


def test_edited_entry_is_named(casework, tmp_path):
    _fill_audit(casework.audit, 6)
    _raw(tmp_path).execute("UPDATE audit_log SET status = 404 WHERE seq = 4")
    finding = casework.audit.verify()
    assert (finding.ok, finding.problem, finding.seq) == (False, "edited", 4)


def test_edited_and_rehashed_entry_is_named(casework, tmp_path):
    _fill_audit(casework.audit, 6)
    con = _raw(tmp_path)
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM audit_log WHERE seq = 3").fetchone())
    row["user_name"] = "mallory"
    con.execute("UPDATE audit_log SET user_name = ?, hash = ? WHERE seq = 3", ("mallory", audit_entry_hash(row)))
    finding = casework.audit.verify()
    assert (finding.ok, finding.problem, finding.seq) == (False, "edited", 3)


def test_deleted_entry_is_named(casework, tmp_path):
    _fill_audit(casework.audit, 6)
    _raw(tmp_path).execute("DELETE FROM audit_log WHERE seq = 3")
    finding = casework.audit.verify()
    assert (finding.ok, finding.problem, finding.seq) == (False, "deleted", 3)


def test_inserted_entry_is_named_even_with_a_valid_own_hash(casework, tmp_path):
    _fill_audit(casework.audit, 6)
    con = _raw(tmp_path)
    con.row_factory = sqlite3.Row
    prev = dict(con.execute("SELECT * FROM audit_log WHERE seq = 3").fetchone())
    forged = {**prev, "user_name": "mallory", "prev_hash": prev["hash"]}
    forged["hash"] = audit_entry_hash(forged)
    # make room after entry 3 (renumber 4.. up by one), then slip the forged entry in as 4
    con.execute("UPDATE audit_log SET seq = -seq WHERE seq >= 4")
    con.execute("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0")
    forged["seq"] = 4
    con.execute(
        "INSERT INTO audit_log VALUES (:seq,:at,:user_name,:role,:method,:route,:params,:status,"
        ":result_count,:duration_ms,:prev_hash,:hash)",
        forged,
    )
    finding = casework.audit.verify()
    assert (finding.ok, finding.problem, finding.seq) == (False, "inserted", 4)


def test_cut_off_tail_is_caught_by_a_recorded_head(casework, tmp_path):
    _fill_audit(casework.audit, 5)
    head = f"{casework.audit.verify().head_seq}:{casework.audit.verify().head_hash}"
    _raw(tmp_path).execute("DELETE FROM audit_log WHERE seq = 5")
    assert casework.audit.verify().ok  # a bare hash chain cannot see a cut tail ...
    ok, message = casework.audit.check_head(head)
    assert not ok and "entry 5 is missing" in message  # ... the recorded head can


# -- cases -----------------------------------------------------------------------------
def _users(users: UserStore) -> None:
    create_user(users, "alice", "investigator", FAST_HASHER)
    create_user(users, "bob", "investigator", FAST_HASHER)
    create_user(users, "officer", "law_enforcement", FAST_HASHER)
    create_user(users, "officer2", "law_enforcement", FAST_HASHER)


def test_case_workflow_history_and_sharing(casework):
    _users(casework.users)
    cases = casework.cases
    case = cases.create_case(title="t", actor="alice", note="opened", items=[{"kind": "account", "id": "a2"}])
    cid = case["case_id"]
    cases.update_case(cid, actor="alice", note="mine", status="in_progress", assignee="bob")
    cases.share_case(cid, actor="alice", note="referral", user_name="officer")
    cases.update_case(cid, actor="bob", note="confirmed by review", status="confirmed")
    history = cases.case_history(cid)
    assert [(h["action"], h["actor"]) for h in history] == [
        ("created", "alice"),
        ("status", "alice"),
        ("assignee", "alice"),
        ("shared", "alice"),
        ("status", "bob"),
    ]
    assert history[-1]["detail"] == {"from": "in_progress", "to": "confirmed"}
    assert [c["case_id"] for c in cases.list_cases(viewer="officer")] == [cid]
    assert cases.list_cases(viewer="officer2") == []
    with pytest.raises(NotFound):
        cases.get_case(cid, viewer="officer2")
    with pytest.raises(Conflict):  # confirmed is final
        cases.update_case(cid, actor="bob", note="reopen", status="open")


def test_every_case_change_needs_a_note(casework):
    _users(casework.users)
    cases = casework.cases
    cid = cases.create_case(title="t", actor="alice", note="n", items=[])["case_id"]
    with pytest.raises(InvalidRequest):
        cases.update_case(cid, actor="alice", note="  ", status="in_progress")
    with pytest.raises(InvalidRequest):
        cases.share_case(cid, actor="alice", note="x", user_name="bob")  # not law enforcement
    assert cases.get_case(cid)["status"] == "open"


# -- beyond the original behaviour tests -----------------------------------------------
def test_forbidden_transition_names_both_states_and_what_is_allowed(casework):
    _users(casework.users)
    cid = casework.cases.create_case(title="t", actor="alice", note="n", items=[])["case_id"]
    with pytest.raises(Conflict) as err:
        casework.cases.update_case(cid, actor="alice", note="n", status=CaseStatus.CONFIRMED)
    assert str(err.value) == f"case {cid}: cannot move from 'open' to 'confirmed' (allowed: in_progress, dismissed)"
    with pytest.raises(InvalidRequest, match="expected one of open, in_progress, confirmed, dismissed"):
        casework.cases.update_case(cid, actor="alice", note="n", status="closed")


def test_a_status_moved_by_another_writer_is_a_conflict_not_a_lost_update(casework, tmp_path):
    _users(casework.users)
    cid = casework.cases.create_case(title="t", actor="alice", note="n", items=[])["case_id"]
    stores = casework.cases._cases  # the store under the workflow: write as if the rule check was stale
    casework.cases.update_case(cid, actor="bob", note="mine", status="dismissed")
    with pytest.raises(Conflict, match="changed meanwhile"):
        stores.change_case(cid, actor="alice", note="n", status=(CaseStatus.OPEN, CaseStatus.IN_PROGRESS))
    assert casework.cases.get_case(cid)["status"] == "dismissed"
    assert [h["action"] for h in casework.cases.case_history(cid)] == ["created", "status"]


def test_assignees_and_shares_are_checked_against_the_user_store(casework):
    _users(casework.users)
    cases = casework.cases
    with pytest.raises(InvalidRequest, match="not an active investigator"):
        cases.create_case(title="t", actor="alice", note="n", items=[], assignee="officer")
    cid = cases.create_case(title="t", actor="alice", note="n", items=[], assignee="bob")["case_id"]
    casework.users.revoke_user("officer2")
    with pytest.raises(InvalidRequest, match="not an active law_enforcement user"):
        cases.share_case(cid, actor="alice", note="n", user_name="officer2")
    cases.share_case(cid, actor="alice", note="n", user_name="officer")
    with pytest.raises(Conflict, match="already shared"):
        cases.share_case(cid, actor="alice", note="n", user_name="officer")
    cases.unshare_case(cid, actor="alice", note="n", user_name="officer")
    with pytest.raises(NotFound, match="not shared"):
        cases.unshare_case(cid, actor="alice", note="n", user_name="officer")
    with pytest.raises(InvalidRequest, match="case item kind 'url'"):
        cases.add_case_items(cid, actor="alice", note="n", items=[{"kind": "url", "id": "u"}])
    assert [h["action"] for h in cases.case_history(cid)] == ["created", "shared", "unshared"]


def test_users_are_validated_in_the_interface(casework):
    with pytest.raises(InvalidRequest, match="expected one of investigator, law_enforcement, auditor, admin"):
        casework.users.add_user("eve", "root", "k" * 16, "hash")
    with pytest.raises(InvalidRequest, match="1-64 letters"):
        casework.users.add_user("eve smith", "admin", "k" * 16, "hash")
    user = casework.users.add_user("eve", "admin", "k" * 16, "hash")
    assert user.role is Role.ADMIN and user.public()["role"] == "admin"
    with pytest.raises(Conflict):
        casework.users.add_user("eve", "admin", "j" * 16, "hash")
    with pytest.raises(NotFound):
        casework.users.get_user("mallory")


def test_verify_with_a_recorded_head_reports_a_cut_tail(casework, tmp_path):
    _fill_audit(casework.audit, 4)
    good = casework.audit.verify()
    head = f"{good.head_seq}:{good.head_hash}"
    assert casework.audit.verify(head=head).message == "recorded head 4 still present"
    _raw(tmp_path).execute("DELETE FROM audit_log WHERE seq = 4")
    cut = casework.audit.verify(head=head)
    assert (cut.ok, cut.problem) == (False, "cut") and "entry 4 is missing" in cut.message
    assert asdict(cut)["entries"] == 3
    with pytest.raises(InvalidRequest):
        casework.audit.verify(head="4:short")


def test_a_state_dir_is_shared_by_every_opening(tmp_path):
    """Two openings of one state dir (the server and a CLI command) see each other's writes."""
    with open_casework(tmp_path) as server, open_casework(tmp_path) as cli:
        _fill_audit(server.audit, 2)
        _fill_audit(cli.audit, 2)
        assert server.audit.verify().entries == 4 and [e["seq"] for e in cli.audit.entries()] == [1, 2, 3, 4]
        create_user(cli.users, "alice", "investigator", FAST_HASHER)
        assert server.users.get_user("alice").active

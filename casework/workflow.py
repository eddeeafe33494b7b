"""The case workflow: open -> in progress -> confirmed / dismissed (TRANSITIONS), a note with
every change, assignment to active investigators, sharing with active law-enforcement users,
who see only what is shared with them. Rules only; the stores keep the records."""

from __future__ import annotations

import uuid
from typing import Any

from casework.interface import CaseStore, UserStore
from casework.model import TRANSITIONS, CaseItemKind, CaseStatus, Role, one_of
from graph.errors import Conflict, InvalidRequest, NotFound


def case_viewer(name: str, role: str) -> str | None:
    """Whom a caller's reads are restricted to: law enforcement sees only cases shared with it
    (its own name); every other role allowed to read cases sees all (None)."""
    return name if role == Role.LAW_ENFORCEMENT else None


#: what a viewer sees instead of the name of another user a case is shared with
OTHER_OFFICER = "(another officer)"


def _as_seen_by(case: dict[str, Any], viewer: str | None) -> dict[str, Any]:
    """A case as `viewer` may see it: a law-enforcement viewer learns that it is shared with
    them, not with whom else."""
    if viewer is None:
        return case
    return {**case, "shared_with": [name for name in case["shared_with"] if name == viewer]}


def _need_note(note: str | None) -> None:
    if note is None or not note.strip():
        raise InvalidRequest("every change to a case needs a note")


def _items(items: list[dict[str, str]]) -> list[tuple[CaseItemKind, str]]:
    """`[{kind, id}]` as (kind, id); InvalidRequest for a kind a case cannot hold."""
    out = []
    for item in items:
        try:
            out.append((CaseItemKind(item["kind"]), item["id"]))
        except ValueError:
            raise InvalidRequest(f"case item kind {item['kind']!r}: expected one of {one_of(CaseItemKind)}") from None
    return out


def _status(value: str) -> CaseStatus:
    try:
        return CaseStatus(value)
    except ValueError:
        raise InvalidRequest(f"status {value!r}: expected one of {one_of(CaseStatus)}") from None


class CaseWorkflow:
    """Every case operation, its rules checked before the store writes. `viewer` (see
    `case_viewer`) restricts reads to cases shared with that user: others are NotFound (not a
    refusal), since whether they exist is not the viewer's to learn."""

    def __init__(self, cases: CaseStore, users: UserStore) -> None:
        self._cases = cases
        self._users = users

    # -- reads ----------------------------------------------------------------------------
    def get_case(self, case_id: str, *, viewer: str | None = None) -> dict[str, Any]:
        case = self._cases.load_case(case_id)
        if viewer is not None and viewer not in case["shared_with"]:
            raise NotFound(f"case {case_id!r} does not exist")
        return _as_seen_by(case, viewer)

    def list_cases(self, *, viewer: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        ids = self._cases.case_ids(shared_with=viewer, status=None if status is None else _status(status))
        return [_as_seen_by(self._cases.load_case(case_id), viewer) for case_id in ids]

    def case_history(self, case_id: str, *, viewer: str | None = None) -> list[dict[str, Any]]:
        self.get_case(case_id, viewer=viewer)
        history = self._cases.history(case_id)
        if viewer is None:
            return history
        return [
            {**h, "detail": {**h["detail"], "with": OTHER_OFFICER}}
            if h["action"] in ("shared", "unshared") and h["detail"].get("with") != viewer
            else h
            for h in history
        ]

    # -- changes (each needs a note) -------------------------------------------------------
    def create_case(
        self,
        *,
        title: str,
        actor: str,
        note: str,
        items: list[dict[str, str]],
        run_id: str | None = None,
        assignee: str | None = None,
    ) -> dict[str, Any]:
        _need_note(note)
        if assignee is not None:
            self._need_investigator(assignee)
        case_id = "case-" + uuid.uuid4().hex[:12]
        self._cases.insert_case(
            case_id, title=title, run_id=run_id, assignee=assignee, actor=actor, note=note, items=_items(items)
        )
        return self._cases.load_case(case_id)

    def update_case(
        self,
        case_id: str,
        *,
        actor: str,
        note: str,
        status: str | None = None,
        assignee: str | None = None,
        unassign: bool = False,
    ) -> dict[str, Any]:
        """Change status and/or assignee (`unassign`: to nobody); one history entry each."""
        _need_note(note)
        case = self._cases.load_case(case_id)
        if status is None and assignee is None and not unassign:
            raise InvalidRequest("nothing to change: give status and/or assignee")
        move = None
        if status is not None:
            move = (CaseStatus(case["status"]), _status(status))
            self._need_transition(case_id, *move)
        if assignee is not None:
            self._need_investigator(assignee)
        reassign = (case["assignee"], assignee) if assignee is not None or unassign else None
        self._cases.change_case(case_id, actor=actor, note=note, status=move, assignee=reassign)
        return self._cases.load_case(case_id)

    def add_case_items(self, case_id: str, *, actor: str, note: str, items: list[dict[str, str]]) -> dict[str, Any]:
        _need_note(note)
        self._cases.load_case(case_id)
        self._cases.add_items(case_id, actor=actor, note=note, items=_items(items))
        return self._cases.load_case(case_id)

    def add_case_note(self, case_id: str, *, actor: str, note: str) -> dict[str, Any]:
        _need_note(note)
        self._cases.add_note(case_id, actor=actor, note=note)
        return self._cases.load_case(case_id)

    def share_case(self, case_id: str, *, actor: str, note: str, user_name: str) -> dict[str, Any]:
        _need_note(note)
        self._cases.load_case(case_id)
        user = self._users.find_user(user_name)
        if user is None or user.role != Role.LAW_ENFORCEMENT or not user.active:
            raise InvalidRequest(f"{user_name!r} is not an active law_enforcement user")
        self._cases.add_share(case_id, user_name, actor=actor, note=note)
        return self._cases.load_case(case_id)

    def unshare_case(self, case_id: str, *, actor: str, note: str, user_name: str) -> dict[str, Any]:
        _need_note(note)
        self._cases.remove_share(case_id, user_name, actor=actor, note=note)
        return self._cases.load_case(case_id)

    # -- rules ----------------------------------------------------------------------------
    def _need_investigator(self, name: str) -> None:
        user = self._users.find_user(name)
        if user is None or not user.active or user.role != Role.INVESTIGATOR:
            raise InvalidRequest(f"assignee {name!r} is not an active investigator")

    @staticmethod
    def _need_transition(case_id: str, current: CaseStatus, target: CaseStatus) -> None:
        allowed = TRANSITIONS[current]
        if target not in allowed:
            raise Conflict(
                f"case {case_id}: cannot move from {current.value!r} to {target.value!r} "
                f"(allowed: {', '.join(s.value for s in allowed) or 'none, the case is closed'})"
            )
